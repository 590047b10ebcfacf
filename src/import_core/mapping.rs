//! Column mappings: which field of a person each column of an import file fills.
//!
//! Policy: a mapping is plain data that can be saved as a named template (JSON via serde;
//! each target is one string such as `"given_name"`, `"consent:newsletter"`,
//! `"custom:membership_no"` or `"ignore"`). Columns a mapping does not mention are ignored.
//! [`validate_mapping`] refuses a mapping that points past the file's columns, names a
//! different header from the file's, maps one column twice, gives one field (or one consent
//! purpose, or one custom attribute) two columns, or maps no column that identifies a person
//! (a name, email or phone field).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::suggest::header_key;

/// Where the values of one column go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Given (first) name.
    GivenName,
    /// Family name (surname).
    FamilyName,
    /// The name the person likes to be called.
    PreferredName,
    /// Title such as Mr, Dr, Cllr.
    Title,
    /// Main email address.
    Email,
    /// Second email address.
    Email2,
    /// Phone number (label from the header: home, work, or by the number).
    Phone,
    /// Mobile number.
    Mobile,
    /// Second phone number.
    Phone2,
    /// Address line 1.
    Line1,
    /// Address line 2.
    Line2,
    /// Address line 3.
    Line3,
    /// Town or city.
    Town,
    /// County.
    County,
    /// Postcode.
    Postcode,
    /// Country (name or ISO code).
    Country,
    /// Date of birth.
    DateOfBirth,
    /// Organisation (employer, company).
    Organisation,
    /// The source system's identifier for the record.
    ExternalId,
    /// Tags or groups, several per cell separated by `,` `;` or `|`.
    Tags,
    /// A consent answer for the purpose with this slug (the caller maps slugs to purposes).
    Consent(String),
    /// A custom attribute with this name.
    Custom(String),
    /// Not imported.
    Ignore,
}

const SIMPLE: [(Target, &str); 20] = [
    (Target::GivenName, "given_name"),
    (Target::FamilyName, "family_name"),
    (Target::PreferredName, "preferred_name"),
    (Target::Title, "title"),
    (Target::Email, "email"),
    (Target::Email2, "email2"),
    (Target::Phone, "phone"),
    (Target::Mobile, "mobile"),
    (Target::Phone2, "phone2"),
    (Target::Line1, "line1"),
    (Target::Line2, "line2"),
    (Target::Line3, "line3"),
    (Target::Town, "town"),
    (Target::County, "county"),
    (Target::Postcode, "postcode"),
    (Target::Country, "country"),
    (Target::DateOfBirth, "date_of_birth"),
    (Target::Organisation, "organisation"),
    (Target::ExternalId, "external_id"),
    (Target::Tags, "tags"),
];

impl Target {
    /// Whether a value in this column can identify a person (name, email or phone).
    pub fn identifies(&self) -> bool {
        matches!(
            self,
            Target::GivenName
                | Target::FamilyName
                | Target::PreferredName
                | Target::Email
                | Target::Email2
                | Target::Phone
                | Target::Mobile
                | Target::Phone2
        )
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Consent(slug) => write!(f, "consent:{slug}"),
            Target::Custom(name) => write!(f, "custom:{name}"),
            Target::Ignore => f.write_str("ignore"),
            simple => {
                let name = SIMPLE.iter().find(|(t, _)| t == simple).map_or("ignore", |(_, n)| n);
                f.write_str(name)
            }
        }
    }
}

impl FromStr for Target {
    type Err = String;

    /// Parse the string form written by `Display` (`"given_name"`, `"consent:newsletter"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let named = |rest: &str, make: fn(String) -> Target| {
            let rest = rest.trim();
            if rest.is_empty() || rest.chars().count() > 100 || rest.chars().any(char::is_control) {
                Err(format!("\"{s}\" needs a name of 1 to 100 characters after the colon"))
            } else {
                Ok(make(rest.to_string()))
            }
        };
        if let Some(rest) = s.strip_prefix("consent:") {
            return named(rest, Target::Consent);
        }
        if let Some(rest) = s.strip_prefix("custom:") {
            return named(rest, Target::Custom);
        }
        if s == "ignore" {
            return Ok(Target::Ignore);
        }
        SIMPLE
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(t, _)| t.clone())
            .ok_or_else(|| format!("\"{s}\" is not a known import field"))
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where one column goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// 0-based column index in the file.
    pub column: usize,
    /// The column's header, as in the file the mapping was made for.
    pub header: String,
    /// Where its values go.
    pub target: Target,
}

/// A whole mapping (what a saved template holds).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Mapping {
    /// One entry per mapped column; unmentioned columns are ignored.
    pub columns: Vec<ColumnMapping>,
}

/// Check a mapping against a file's headers. Returns every problem, in plain English.
pub fn validate_mapping(m: &Mapping, headers: &[String]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut columns_seen = std::collections::HashSet::new();
    let mut targets_seen: std::collections::HashMap<&Target, &str> = std::collections::HashMap::new();
    for cm in &m.columns {
        match headers.get(cm.column) {
            None => errors.push(format!(
                "Column {} (\"{}\") does not exist: the file has {} columns.",
                cm.column + 1,
                cm.header,
                headers.len()
            )),
            Some(h) if header_key(h) != header_key(&cm.header) => errors.push(format!(
                "Column {} is \"{h}\" in this file, but the mapping expects \"{}\".",
                cm.column + 1,
                cm.header
            )),
            Some(_) => {}
        }
        if !columns_seen.insert(cm.column) {
            errors.push(format!(
                "Column {} (\"{}\") is mapped more than once.",
                cm.column + 1,
                cm.header
            ));
        }
        if let Target::Consent(name) | Target::Custom(name) = &cm.target {
            if name.trim().is_empty() {
                errors.push(format!("Column \"{}\" needs a name for {}.", cm.header, cm.target));
            }
        }
        if cm.target != Target::Ignore {
            if let Some(first) = targets_seen.insert(&cm.target, &cm.header) {
                errors.push(format!(
                    "\"{}\" and \"{}\" are both mapped to {}; map only one of them.",
                    first, cm.header, cm.target
                ));
            }
        }
    }
    if !m.columns.iter().any(|c| c.target.identifies()) {
        errors.push(
            "Map at least one column to a name, email or phone field, or every row will be rejected.".to_string(),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(column: usize, header: &str, target: Target) -> ColumnMapping {
        ColumnMapping {
            column,
            header: header.into(),
            target,
        }
    }

    #[test]
    fn target_strings_round_trip() {
        let mut all: Vec<Target> = SIMPLE.iter().map(|(t, _)| t.clone()).collect();
        all.extend([
            Target::Consent("newsletter".into()),
            Target::Custom("membership_no".into()),
            Target::Ignore,
        ]);
        for t in all {
            let s = t.to_string();
            assert_eq!(s.parse::<Target>(), Ok(t.clone()), "{s}");
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Target>(&json).ok(), Some(t));
        }
        assert!("consent:".parse::<Target>().is_err());
        assert!("custom:  ".parse::<Target>().is_err());
        assert!("nickname".parse::<Target>().is_err());
        assert!(serde_json::from_str::<Target>("\"bogus\"").is_err());
    }

    #[test]
    fn mapping_json_template() {
        let m = Mapping {
            columns: vec![
                cm(0, "First Name", Target::GivenName),
                cm(3, "Email opt-in", Target::Consent("email_opt_in".into())),
            ],
        };
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"columns":[{"column":0,"header":"First Name","target":"given_name"},{"column":3,"header":"Email opt-in","target":"consent:email_opt_in"}]}"#
        );
        assert_eq!(serde_json::from_str::<Mapping>(&json).ok(), Some(m));
    }

    #[test]
    fn validation() {
        let headers: Vec<String> = ["First", "Last", "Email", "Notes", "Extra"].map(String::from).to_vec();
        let good = Mapping {
            columns: vec![
                cm(0, "first", Target::GivenName),
                cm(2, "E-mail", Target::Email),
                cm(3, "Notes", Target::Custom("notes".into())),
                cm(4, "Extra", Target::Ignore),
                cm(1, "Last", Target::Ignore),
            ],
        };
        assert_eq!(validate_mapping(&good, &headers), Ok(()));
        let bad = Mapping {
            columns: vec![
                cm(0, "First", Target::GivenName),
                cm(1, "Last", Target::GivenName),
                cm(9, "Ghost", Target::Email),
                cm(2, "Phone", Target::Phone),
                cm(3, "Notes", Target::Custom("x".into())),
                cm(4, "Extra", Target::Custom("x".into())),
                cm(4, "Extra", Target::Ignore),
            ],
        };
        let errors = validate_mapping(&bad, &headers).err().unwrap_or_default();
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors.iter().any(|e| e.contains("both mapped to given_name")));
        assert!(errors.iter().any(|e| e.contains("Column 10")));
        assert!(errors.iter().any(|e| e.contains("expects \"Phone\"")));
        assert!(errors.iter().any(|e| e.contains("custom:x")));
        assert!(errors.iter().any(|e| e.contains("more than once")));
        let no_identity = Mapping {
            columns: vec![cm(3, "Notes", Target::Custom("notes".into()))],
        };
        let errors = validate_mapping(&no_identity, &headers).err().unwrap_or_default();
        assert!(errors.iter().any(|e| e.contains("at least one column")));
        let unnamed = Mapping {
            columns: vec![
                cm(0, "First", Target::GivenName),
                cm(3, "Notes", Target::Consent(" ".into())),
            ],
        };
        assert!(validate_mapping(&unnamed, &headers).is_err());
    }
}
