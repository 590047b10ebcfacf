//! Addresses (real outward codes, valid inward codes), email domains, organisations and tags.

use super::rng::SplitMix64;

/// Outward codes of the City of London and its edges (the EC districts).
const CITY: &[&str] = &[
    "EC1A", "EC1M", "EC1N", "EC1R", "EC1V", "EC1Y", "EC2A", "EC2M", "EC2N", "EC2R", "EC2V", "EC2Y", "EC3A", "EC3M",
    "EC3N", "EC3R", "EC3V", "EC4A", "EC4M", "EC4N", "EC4R", "EC4V", "EC4Y",
];

/// Other London outward codes.
const LONDON: &[&str] = &[
    "WC1A", "WC1B", "WC1E", "WC1H", "WC1N", "WC1R", "WC1V", "WC1X", "WC2A", "WC2B", "WC2E", "WC2H", "WC2N", "WC2R",
    "E1", "E2", "E3", "E8", "E14", "E15", "E17", "N1", "N4", "N7", "N16", "N19", "NW1", "NW3", "NW5", "NW6", "NW10",
    "SE1", "SE5", "SE10", "SE15", "SE22", "SW1A", "SW1P", "SW1V", "SW3", "SW9", "SW11", "SW19", "W1D", "W1F", "W1K",
    "W2", "W8", "W11", "W12",
];

/// Outward codes of big cities elsewhere in the UK, with the post town and county.
const ELSEWHERE: &[(&str, &str, Option<&str>)] = &[
    ("M1", "Manchester", Some("Greater Manchester")),
    ("M4", "Manchester", Some("Greater Manchester")),
    ("B1", "Birmingham", Some("West Midlands")),
    ("B15", "Birmingham", Some("West Midlands")),
    ("LS1", "Leeds", Some("West Yorkshire")),
    ("LS6", "Leeds", Some("West Yorkshire")),
    ("BS1", "Bristol", None),
    ("BS8", "Bristol", None),
    ("L1", "Liverpool", Some("Merseyside")),
    ("NE1", "Newcastle upon Tyne", Some("Tyne and Wear")),
    ("G1", "Glasgow", None),
    ("G12", "Glasgow", None),
    ("EH1", "Edinburgh", None),
    ("EH3", "Edinburgh", None),
    ("CF10", "Cardiff", None),
    ("BT1", "Belfast", Some("County Antrim")),
    ("CB2", "Cambridge", Some("Cambridgeshire")),
    ("OX1", "Oxford", Some("Oxfordshire")),
    ("BN1", "Brighton", Some("East Sussex")),
    ("YO1", "York", Some("North Yorkshire")),
    ("NG1", "Nottingham", Some("Nottinghamshire")),
    ("S1", "Sheffield", Some("South Yorkshire")),
    ("RG1", "Reading", Some("Berkshire")),
    ("GU1", "Guildford", Some("Surrey")),
    ("CM1", "Chelmsford", Some("Essex")),
    ("SS1", "Southend-on-Sea", Some("Essex")),
    ("CT1", "Canterbury", Some("Kent")),
    ("NR1", "Norwich", Some("Norfolk")),
    ("EX1", "Exeter", Some("Devon")),
    ("PL1", "Plymouth", Some("Devon")),
    ("AB10", "Aberdeen", None),
    ("DD1", "Dundee", None),
];

/// Letters allowed in an inward code.
const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

const STREETS: &[&str] = &[
    "Cheapside",
    "Moorgate",
    "Aldersgate Street",
    "Fore Street",
    "Wood Street",
    "Milk Street",
    "Bread Street",
    "Poultry",
    "Cornhill",
    "Leadenhall Street",
    "Fenchurch Street",
    "Gracechurch Street",
    "Bishopsgate",
    "London Wall",
    "Holborn",
    "Fleet Street",
    "Ludgate Hill",
    "Cannon Street",
    "Queen Victoria Street",
    "Farringdon Road",
    "Goswell Road",
    "Old Street",
    "Whitecross Street",
    "Golden Lane",
    "Chiswell Street",
    "Finsbury Square",
    "Liverpool Road",
    "Upper Street",
    "Essex Road",
    "Mare Street",
    "Commercial Road",
    "Whitechapel Road",
    "Brick Lane",
    "Borough High Street",
    "Tooley Street",
    "Walworth Road",
    "Camberwell Grove",
    "Lordship Lane",
    "Kennington Road",
    "Lambeth Walk",
    "Northcote Road",
    "Kensington Church Street",
    "Portobello Road",
    "Edgware Road",
    "Baker Street",
    "Camden High Street",
    "Kentish Town Road",
    "Stoke Newington Church Street",
    "Station Road",
    "High Street",
    "Church Lane",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "The Crescent",
    "Queen's Road",
    "St John's Wood Road",
    "Albert Embankment",
];

const BUILDINGS: &[&str] = &[
    "Cromwell Tower",
    "Lauderdale Tower",
    "Shakespeare Tower",
    "Defoe House",
    "Thomas More House",
    "Ben Jonson House",
    "Andrewes House",
    "Golden Lane Estate",
    "Great Arthur House",
    "Mansion Court",
    "Riverside Wharf",
    "Canal Building",
    "Old Bakery Court",
    "St Paul's Mews",
];

/// A synthetic postal address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleAddress {
    /// First line ("12 Wood Street", "Flat 7, Defoe House").
    pub line1: String,
    /// Second line (the street, for flats).
    pub line2: Option<String>,
    /// Post town.
    pub town: String,
    /// County, where usually written.
    pub county: Option<String>,
    /// Normalised UK postcode ("EC2V 7HH").
    pub postcode: String,
}

fn inward(rng: &mut SplitMix64) -> String {
    let letter = |rng: &mut SplitMix64| char::from(INWARD[rng.below(INWARD.len() as u64) as usize]);
    format!("{}{}{}", rng.below(10), letter(rng), letter(rng))
}

/// An address: 80 % in London (a third of those in the City's EC districts), a fifth in flats.
pub fn address(rng: &mut SplitMix64) -> SampleAddress {
    let (outward, town, county) = if rng.chance(0.8) {
        let pool = if rng.chance(0.33) { CITY } else { LONDON };
        (rng.pick(pool).copied().unwrap_or("EC2V"), "London", None)
    } else {
        rng.pick(ELSEWHERE).copied().unwrap_or(("M1", "Manchester", None))
    };
    let postcode = format!("{outward} {}", inward(rng));
    let street = rng.pick(STREETS).copied().unwrap_or("High Street");
    let number = rng.between(1, 240);
    let (line1, line2) = if rng.chance(0.2) {
        let building = rng.pick(BUILDINGS).copied().unwrap_or("Mansion Court");
        (
            format!("Flat {}, {building}", rng.between(1, 180)),
            Some(format!("{number} {street}")),
        )
    } else {
        (format!("{number} {street}"), None)
    };
    SampleAddress {
        line1,
        line2,
        town: town.to_string(),
        county: county.map(str::to_string),
        postcode,
    }
}

/// Personal email domains with rough shares; the `example.*` ones never deliver anywhere.
const PERSONAL_DOMAINS: &[(&str, f64)] = &[
    ("gmail.com", 30.0),
    ("outlook.com", 12.0),
    ("hotmail.co.uk", 10.0),
    ("btinternet.com", 8.0),
    ("yahoo.co.uk", 6.0),
    ("icloud.com", 5.0),
    ("sky.com", 3.0),
    ("example.com", 12.0),
    ("example.org", 7.0),
    ("example.net", 7.0),
];

/// Work domains for second addresses (disjoint from the personal ones, so a person's two
/// addresses never share a key).
const WORK_DOMAINS: &[&str] = &[
    "work.example.com",
    "mail.example.org",
    "staff.example.net",
    "example.co.uk",
    "corp.example",
];

/// A personal email domain.
pub fn personal_domain(rng: &mut SplitMix64) -> &'static str {
    let total: f64 = PERSONAL_DOMAINS.iter().map(|d| d.1).sum();
    let mut x = rng.unit() * total;
    for (d, w) in PERSONAL_DOMAINS {
        if x < *w {
            return d;
        }
        x -= w;
    }
    "example.com"
}

/// A work email domain.
pub fn work_domain(rng: &mut SplitMix64) -> &'static str {
    rng.pick(WORK_DOMAINS).copied().unwrap_or("example.co.uk")
}

const ORGANISATIONS: &[&str] = &[
    "Cheapside Traders Ltd",
    "Thames Consulting LLP",
    "Guildhall Partners",
    "Moorgate Capital plc",
    "Barbican Arts Trust",
    "St Bartholomew's Friends",
    "Smithfield Provisions Ltd",
    "Aldgate Legal Services",
    "Worshipful Company of Example Makers",
    "Fleet Street Press",
    "City Volunteers' Network",
    "Finsbury Circus Architects",
];

/// An employer or organisation, for about one person in ten.
pub fn organisation(rng: &mut SplitMix64) -> Option<&'static str> {
    if rng.chance(0.1) {
        rng.pick(ORGANISATIONS).copied()
    } else {
        None
    }
}

const TAGS: &[&str] = &[
    "newsletter",
    "volunteer",
    "donor",
    "resident",
    "city-worker",
    "student",
    "alumni",
    "member",
    "banquet-guest",
    "press",
    "accessibility-needs",
    "vip",
];

/// Zero to three distinct tags, sorted (as the service stores them).
pub fn tags(rng: &mut SplitMix64) -> Vec<String> {
    let n = match rng.below(10) {
        0..=2 => 0,
        3..=6 => 1,
        7..=8 => 2,
        _ => 3,
    };
    let mut out: Vec<String> = Vec::new();
    while out.len() < n {
        let t = rng.pick(TAGS).copied().unwrap_or("newsletter");
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::postcode::normalize_postcode;

    #[test]
    fn every_outward_code_makes_valid_postcodes() {
        let mut r = SplitMix64::new(9);
        let all = CITY.iter().chain(LONDON).copied().chain(ELSEWHERE.iter().map(|e| e.0));
        for outward in all {
            for _ in 0..20 {
                let pc = format!("{outward} {}", inward(&mut r));
                assert_eq!(normalize_postcode(&pc).ok().as_deref(), Some(pc.as_str()));
            }
        }
    }

    #[test]
    fn tags_are_distinct_and_sorted() {
        let mut r = SplitMix64::new(5);
        for _ in 0..1000 {
            let t = tags(&mut r);
            assert!(t.len() <= 3 && t.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
