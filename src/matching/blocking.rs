//! Blocking keys: which records are worth comparing at all.
//!
//! Policy: two records are candidates when they share at least one key. Every
//! key joins a *high-cardinality* value (a full date of birth, a full
//! postcode, an email, a phone, a house number) with a name part, so no key
//! is as broad as "smith" alone, and every single-field error leaves at
//! least one key intact. Keys are short strings with a kind prefix:
//!
//! | key | made of | catches |
//! |---|---|---|
//! | `e:` | email match key | anything else changed (name, address, phone) |
//! | `p:` | E.164 phone | email changed, name variants, moved within reach of the same phone |
//! | `nd:` | family NYSIIS, birth year, {day, month} unordered | nickname/initial/typo in given name; family typo; day/month swap; moved and changed contacts |
//! | `gd:` | given canonical (one key per nickname group), full dob | family name changed (marriage) or badly mistyped |
//! | `sd:` | {given canonical, family} unordered, full dob | given and family swapped |
//! | `fy:` | family folded, birth year, initial of given canonical | day or month of birth mistyped |
//! | `pg:` | full postcode, initial of given canonical (per group) | dob missing or wrong, family name changed, same address |
//! | `pf:` | full postcode, family NYSIIS | given name unrelated (known by a middle name), same address |
//! | `no:` | {given canonical, family} unordered, outward code | dob missing, postcode mistyped within the district, swapped names |
//! | `ah:` | family NYSIIS, house number, first street word | postcode missing or mistyped |
//! | `di:` | full dob, {first letter of given, first letter of family} unordered | both names mistyped, nickname and typo, swapped names |
//! | `ph:` | full postcode, flat number (else house number) | names mangled and dob missing or wrong, at the same address |
//! | `nm:` | family NYSIIS, initial of given canonical, {day, month} unordered | year of birth mistyped, moved |
//!
//! Recall reasoning: a true pair fails to share a key only when *every* key
//! breaks, e.g. email and phone differ or are missing, **and** the date of
//! birth is missing/wrong **and** the postcode changed **and** the address
//! changed. Single-field errors (typo, nickname, move, new phone, missing
//! DOB) never do, and two-field errors rarely do (property- and unit-tested
//! below). Records with no date of birth, postcode, address, email or phone
//! get no keys: the model could not link them anyway (name alone scores
//! below the review threshold).
//!
//! Candidate sizes (1M records): a full date of birth holds ~40 people, so a
//! dob key with a phonetic surname or a given name leaves ~1; a postcode
//! holds ~30, so `pg`/`pf` leave ~1–3; `fy` (surname, year, initial) is the
//! broadest at ~10 for Smith; `di` leaves ~1 (a date's ~40 people spread
//! over pairs of initials), `ph` one household (~2–4) and `nm` ~3 for
//! Smith. Shared placeholders (a department's generic
//! mailbox or switchboard) are the one way a key can grow large: callers
//! should skip keys whose block exceeds a few hundred records.

use super::record::Prepared;
use chrono::Datelike;

/// Kind prefixes of all keys, for documentation and tests.
pub const KINDS: [&str; 13] = [
    "e:", "p:", "nd:", "gd:", "sd:", "fy:", "pg:", "pf:", "no:", "ah:", "di:", "ph:", "nm:",
];

/// The canonical forms used for a given name: one per nickname group, or the
/// folded name when it is not in the table.
fn given_forms(p: &Prepared) -> Vec<&str> {
    let Some(g) = &p.given else {
        return Vec::new();
    };
    if g.is_initial() {
        return Vec::new();
    }
    let mut forms: Vec<&str> = super::nicknames::canonicals(g.first()).collect();
    if forms.is_empty() {
        forms.push(g.first());
    }
    forms
}

/// First letters of the given name's canonical forms (the letter itself for an initial).
fn given_initials(p: &Prepared) -> Vec<char> {
    let Some(g) = &p.given else {
        return Vec::new();
    };
    let mut out: Vec<char> = if g.is_initial() {
        g.first().chars().take(1).collect()
    } else {
        given_forms(p).iter().filter_map(|f| f.chars().next()).collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// `a|b` with the two parts in sorted order (swap-insensitive).
fn unordered(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}|{b}")
    } else {
        format!("{b}|{a}")
    }
}

/// The blocking keys of a record, sorted and de-duplicated.
pub fn blocking_keys(p: &Prepared) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    keys.extend(p.email_keys().map(|e| format!("e:{e}")));
    keys.extend(p.phones().iter().map(|n| format!("p:{n}")));
    let family = p.family.as_ref().filter(|f| !f.compact.is_empty());
    let phon = family.map(|f| f.phonetic.as_str()).filter(|s| !s.is_empty());
    let forms = given_forms(p);
    let initials = given_initials(p);
    // First letters of the folded names as written (not their canonical forms).
    let letters = match (
        p.given.as_ref().and_then(|g| g.first().chars().next()),
        family.and_then(|f| f.compact.chars().next()),
    ) {
        (Some(g), Some(f)) => Some(if g <= f { (g, f) } else { (f, g) }),
        _ => None,
    };
    if let Some(d) = p.dob {
        let ymd = d.format("%Y%m%d");
        let (lo, hi) = (d.month().min(d.day()), d.month().max(d.day()));
        if let Some(ph) = phon {
            keys.push(format!("nd:{ph}|{}|{lo:02}|{hi:02}", d.year()));
        }
        if let Some((x, y)) = letters {
            keys.push(format!("di:{ymd}|{x}{y}"));
        }
        for g in &forms {
            keys.push(format!("gd:{g}|{ymd}"));
            if let Some(f) = family {
                keys.push(format!("sd:{}|{ymd}", unordered(g, &f.compact)));
            }
        }
        if let Some(f) = family {
            for i in &initials {
                keys.push(format!("fy:{}|{}|{i}", f.compact, d.year()));
            }
        }
        if let Some(ph) = phon {
            for i in &initials {
                keys.push(format!("nm:{ph}|{i}|{lo:02}|{hi:02}"));
            }
        }
    }
    // The dwelling: a flat number within a postcode (departments disagree on whether the
    // building's street number is written), else the house number.
    if let (Some(pc), Some(a)) = (&p.postcode, &p.address) {
        match (&a.flat, &a.house) {
            (Some(flat), _) => keys.push(format!("ph:{}|flat {flat}", pc.full)),
            (None, Some(house)) => keys.push(format!("ph:{}|{house}", pc.full)),
            (None, None) => {}
        }
    }
    if let Some(pc) = &p.postcode {
        for i in &initials {
            keys.push(format!("pg:{}|{i}", pc.full));
        }
        if let Some(ph) = phon {
            keys.push(format!("pf:{}|{ph}", pc.full));
        }
        if let Some(f) = family {
            for g in &forms {
                keys.push(format!("no:{}|{}", unordered(g, &f.compact), pc.outward()));
            }
        }
    }
    if let (Some(ph), Some(a)) = (phon, &p.address) {
        if let (Some(house), Some(head)) = (&a.house, &a.head) {
            keys.push(format!("ah:{ph}|{house}|{head}"));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::super::record::MatchRecord;
    use super::*;
    use chrono::NaiveDate;

    fn base() -> MatchRecord {
        MatchRecord {
            given: Some("William".into()),
            family: Some("Featherstone".into()),
            dob: NaiveDate::from_ymd_opt(1975, 4, 9),
            emails: vec!["w.featherstone@gmail.com".into()],
            phones: vec!["07700 900123".into()],
            postcode: Some("EC2V 7HH".into()),
            address_line: Some("Flat 2, 10 High St".into()),
            organisation: None,
        }
    }

    fn shares(a: &MatchRecord, b: &MatchRecord) -> bool {
        let ka = blocking_keys(&Prepared::from_record(a));
        let kb = blocking_keys(&Prepared::from_record(b));
        ka.iter().any(|k| kb.contains(k))
    }

    #[test]
    fn key_shapes() {
        let keys = blocking_keys(&Prepared::from_record(&base()));
        for kind in KINDS {
            assert!(keys.iter().any(|k| k.starts_with(kind)), "{kind} missing in {keys:?}");
        }
        assert!(keys.contains(&"e:wfeatherstone@gmail.com".to_string()));
        assert!(keys.contains(&"p:+447700900123".to_string()));
        assert!(keys.contains(&"nd:FATARSTAN|1975|04|09".to_string()), "{keys:?}");
        assert!(keys.contains(&"pg:EC2V 7HH|w".to_string()));
        assert!(keys.contains(&"ah:FATARSTAN|10|high".to_string()));
        assert!(blocking_keys(&Prepared::from_record(&MatchRecord::default())).is_empty());
    }

    #[test]
    fn hard_cases_share_a_key() {
        let b = base();
        let no_contacts = |r: MatchRecord| MatchRecord {
            emails: vec![],
            phones: vec![],
            ..r
        };
        let cases: Vec<(&str, MatchRecord)> = vec![
            (
                "nickname, new contacts",
                no_contacts(MatchRecord {
                    given: Some("Bill".into()),
                    ..b.clone()
                }),
            ),
            (
                "family typo",
                no_contacts(MatchRecord {
                    family: Some("Fetherstone".into()),
                    ..b.clone()
                }),
            ),
            (
                "married, moved",
                no_contacts(MatchRecord {
                    family: Some("Jones".into()),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "swapped",
                no_contacts(MatchRecord {
                    given: Some("Featherstone".into()),
                    family: Some("William".into()),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "day/month swap",
                no_contacts(MatchRecord {
                    dob: NaiveDate::from_ymd_opt(1975, 9, 4),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "day typo, moved",
                no_contacts(MatchRecord {
                    dob: NaiveDate::from_ymd_opt(1975, 4, 19),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "no dob, same postcode, middle name",
                no_contacts(MatchRecord {
                    given: Some("Tom".into()),
                    dob: None,
                    ..b.clone()
                }),
            ),
            (
                "no dob, postcode typo",
                no_contacts(MatchRecord {
                    dob: None,
                    postcode: Some("EC2V 7HJ".into()),
                    ..b.clone()
                }),
            ),
            (
                "no dob, no postcode",
                no_contacts(MatchRecord {
                    dob: None,
                    postcode: None,
                    address_line: Some("2/10 High Street".into()),
                    ..b.clone()
                }),
            ),
            (
                "moved, new phone",
                MatchRecord {
                    phones: vec![],
                    postcode: Some("SW1A 1AA".into()),
                    address_line: None,
                    dob: None,
                    ..b.clone()
                },
            ),
            (
                "everything but phone",
                MatchRecord {
                    given: None,
                    family: None,
                    dob: None,
                    emails: vec![],
                    postcode: None,
                    address_line: None,
                    phones: vec!["+44 7700 900123".into()],
                    ..b.clone()
                },
            ),
        ];
        let more: Vec<(&str, MatchRecord)> = vec![
            (
                "both names mistyped, moved",
                no_contacts(MatchRecord {
                    given: Some("Wililam".into()),
                    family: Some("Featehrstone".into()),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "swapped, with a typo",
                no_contacts(MatchRecord {
                    given: Some("Featherstnoe".into()),
                    family: Some("William".into()),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "year of birth mistyped, moved",
                no_contacts(MatchRecord {
                    dob: NaiveDate::from_ymd_opt(1976, 4, 9),
                    postcode: None,
                    address_line: None,
                    ..b.clone()
                }),
            ),
            (
                "names mangled and swapped, no dob, same flat",
                no_contacts(MatchRecord {
                    given: Some("Fethrestone".into()),
                    family: Some("Wilam".into()),
                    dob: None,
                    ..b.clone()
                }),
            ),
            (
                "names mangled, no dob, the flat written without its building's number",
                no_contacts(MatchRecord {
                    given: Some("Fethrestone".into()),
                    family: Some("Wilam".into()),
                    dob: None,
                    address_line: Some("Flat 2, Riverside House".into()),
                    ..b.clone()
                }),
            ),
            (
                "initial and family typo, day/month swap, same postcode",
                no_contacts(MatchRecord {
                    given: Some("X".into()),
                    family: Some("Fetherstone".into()),
                    dob: NaiveDate::from_ymd_opt(1975, 9, 4),
                    address_line: None,
                    ..b.clone()
                }),
            ),
        ];
        for (what, r) in cases.into_iter().chain(more) {
            assert!(shares(&b, &r), "{what}");
        }
        let stranger = MatchRecord {
            given: Some("Mary".into()),
            family: Some("Jones".into()),
            dob: NaiveDate::from_ymd_opt(1990, 1, 2),
            emails: vec![],
            phones: vec![],
            postcode: Some("SW1A 1AA".into()),
            address_line: Some("1 Mall".into()),
            organisation: None,
        };
        assert!(!shares(&b, &stranger));
    }
}
