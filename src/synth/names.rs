//! Names: embedded UK-typical lists (accents, hyphens and apostrophes included), drawn with
//! Zipf-like weights by rank, plus titles and the usual short forms of given names.

use std::sync::OnceLock;

use super::rng::{SplitMix64, Weighted};

const FAMILY: &str = include_str!("data/family_names.txt");
const FEMALE: &str = include_str!("data/given_female.txt");
const MALE: &str = include_str!("data/given_male.txt");

/// The lists as weighted tables, built once.
pub struct NameTables {
    /// Family names.
    pub family: Weighted<&'static str>,
    /// Female given names.
    pub female: Weighted<&'static str>,
    /// Male given names.
    pub male: Weighted<&'static str>,
    /// Family names uniformly, for the second half of a double-barrelled name (rare pairs).
    pub family_uniform: Vec<&'static str>,
}

fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The name tables (built on first use).
pub fn tables() -> &'static NameTables {
    static TABLES: OnceLock<NameTables> = OnceLock::new();
    TABLES.get_or_init(|| NameTables {
        // q = 10, s = 1: "Smith" about 2.6 % of people, the last name on the list about 0.08 %.
        family: Weighted::zipf(lines(FAMILY), 10.0, 1.0),
        female: Weighted::zipf(lines(FEMALE), 6.0, 0.9),
        male: Weighted::zipf(lines(MALE), 6.0, 0.9),
        family_uniform: lines(FAMILY),
    })
}

/// Sex used only to pick a consistent given name and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// Female names and titles.
    Female,
    /// Male names and titles.
    Male,
}

/// A given name for `sex`.
pub fn given(rng: &mut SplitMix64, sex: Sex) -> &'static str {
    let t = tables();
    let table = match sex {
        Sex::Female => &t.female,
        Sex::Male => &t.male,
    };
    table.draw(rng).copied().unwrap_or("Alex")
}

/// A family name; about 2 % are double-barrelled pairs, most of them unique in a data set.
pub fn family(rng: &mut SplitMix64) -> String {
    let t = tables();
    let first = t.family.draw(rng).copied().unwrap_or("Smith");
    if rng.chance(0.02) && !first.contains(['-', ' ']) {
        if let Some(second) = rng
            .pick(&t.family_uniform)
            .filter(|s| **s != first && !s.contains(['-', ' ']))
        {
            return format!("{first}-{second}");
        }
    }
    first.to_string()
}

/// A title (about 8 % of people have none).
pub fn title(rng: &mut SplitMix64, sex: Sex) -> Option<&'static str> {
    let x = rng.unit();
    let special = [(0.03, "Dr"), (0.003, "Prof"), (0.003, "Rev"), (0.01, "Mx")];
    let mut edge = 0.0;
    for (p, t) in special {
        edge += p;
        if x < edge {
            return Some(t);
        }
    }
    if x < 0.08 + edge {
        return None;
    }
    let rest = (x - 0.08 - edge) / (1.0 - 0.08 - edge);
    Some(match sex {
        Sex::Male => "Mr",
        Sex::Female if rest < 0.40 => "Mrs",
        Sex::Female if rest < 0.75 => "Ms",
        Sex::Female => "Miss",
    })
}

/// The usual short forms people ask to be called by.
const SHORT_FORMS: &[(&str, &[&str])] = &[
    ("Alexander", &["Alex", "Sandy"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Anthony", &["Tony"]),
    ("Benjamin", &["Ben"]),
    ("Catherine", &["Kate", "Cathy"]),
    ("Christopher", &["Chris", "Kit"]),
    ("Daniel", &["Dan", "Danny"]),
    ("Deborah", &["Debbie", "Deb"]),
    ("Edward", &["Ed", "Ted", "Eddie"]),
    ("Elizabeth", &["Liz", "Beth", "Lizzie"]),
    ("Frederick", &["Fred"]),
    ("Jennifer", &["Jen", "Jenny"]),
    ("Jessica", &["Jess"]),
    ("Joseph", &["Joe"]),
    ("Margaret", &["Maggie", "Peggy"]),
    ("Matthew", &["Matt"]),
    ("Michael", &["Mike", "Mick"]),
    ("Patricia", &["Pat", "Trish"]),
    ("Rebecca", &["Becky", "Becca"]),
    ("Richard", &["Rich", "Dick"]),
    ("Robert", &["Rob", "Bob", "Bobby"]),
    ("Samantha", &["Sam"]),
    ("Samuel", &["Sam"]),
    ("Stephen", &["Steve"]),
    ("Susan", &["Sue"]),
    ("Theodore", &["Theo", "Teddy"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Victoria", &["Vicky", "Tori"]),
    ("William", &["Will", "Bill", "Billy"]),
    ("Abigail", &["Abi", "Abby"]),
    ("James", &["Jim", "Jamie"]),
    ("Muhammad", &["Mo"]),
    ("Oluwaseun", &["Seun"]),
    ("Pádraig", &["Paddy"]),
];

/// A preferred name: for a third of the people whose given name has a usual short form.
pub fn preferred(rng: &mut SplitMix64, given: &str) -> Option<&'static str> {
    let (_, forms) = SHORT_FORMS.iter().find(|(g, _)| *g == given)?;
    if rng.chance(0.33) {
        rng.pick(forms).copied()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_loaded_with_awkward_names() {
        let t = tables();
        assert!(t.family.len() >= 300 && t.female.len() >= 150 && t.male.len() >= 150);
        for name in ["O'Brien", "Smith-Jones", "Müller", "da Silva"] {
            assert!(t.family_uniform.contains(&name), "{name}");
        }
        assert!(lines(FEMALE).contains(&"Zoë"));
        assert!(t.family.share(0) > 0.02 && t.family.share(0) < 0.04, "Smith is common");
    }

    #[test]
    fn titles_match_sex() {
        let mut r = SplitMix64::new(3);
        for _ in 0..10_000 {
            if let Some(t) = title(&mut r, Sex::Male) {
                assert!(!["Mrs", "Ms", "Miss"].contains(&t));
            }
            if let Some(t) = title(&mut r, Sex::Female) {
                assert_ne!(t, "Mr");
            }
        }
    }
}
