//! Suggesting a column mapping from a file's headers.
//!
//! Policy: headers are compared after folding (case, accents, spaces and punctuation
//! ignored; text in brackets dropped, so "DOB (dd/mm/yyyy)" is "dob") against a table of
//! synonyms. When a field is already taken, the next one of its kind is used (email → email2,
//! phone → phone2, address line 1 → 2 → 3). Headers that ask for consent ("Email opt-in",
//! "Consent – newsletter", "Marketing OK") become `consent:<header slug>`; the caller maps
//! slugs to its purposes. Headers that record a refusal ("Opt out", "Unsubscribed", "Do not
//! email") are never suggested as consent, because "yes" there means no: they become custom
//! attributes for a person to decide. Everything else becomes `custom:<header slug>`, and
//! blank headers `ignore`. Suggestions are only suggestions: nothing is imported until the
//! user has accepted a mapping that passes [`validate_mapping`](super::validate_mapping).

use std::collections::HashSet;

use super::mapping::{ColumnMapping, Mapping, Target};
use super::synonyms::{CONSENT, OPT_OUT, SYNONYMS};
use crate::normalize::text::fold;

/// The folded header as `snake_case`: `"Consent – newsletter"` → `"consent_newsletter"`,
/// `"E-mail"` → `"e_mail"`. Used for consent and custom attribute names and to compare
/// headers.
pub fn header_slug(header: &str) -> String {
    fold(header).replace(' ', "_")
}

/// The folded header without spaces (`"E-mail"` and `"email"` are both `"email"`): what
/// headers are compared by.
pub(crate) fn header_key(header: &str) -> String {
    fold(header).replace(' ', "")
}

/// Drop text in round or square brackets.
fn strip_brackets(header: &str) -> String {
    let mut depth = 0usize;
    header
        .chars()
        .filter(|c| match c {
            '(' | '[' => {
                depth += 1;
                false
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

/// Whether the folded words contain `phrase` (given without spaces) as consecutive words.
fn has_phrase(words: &[&str], phrase: &str) -> bool {
    (0..words.len()).any(|start| {
        let mut joined = String::new();
        for w in &words[start..] {
            joined.push_str(w);
            // Once off the phrase no further word brings it back: stop there, or a header of
            // thousands of words costs seconds (every start joined to the end).
            if !phrase.starts_with(joined.as_str()) {
                return false;
            }
            if joined.len() == phrase.len() {
                return true;
            }
        }
        false
    })
}

/// The field one header suggests on its own (without looking at the other headers).
pub fn suggest_target(header: &str) -> Target {
    let folded = fold(&strip_brackets(header));
    let folded = if folded.is_empty() { fold(header) } else { folded };
    let key: String = folded.split(' ').collect();
    if let Some((target, _)) = SYNONYMS.iter().find(|(_, keys)| keys.contains(&key.as_str())) {
        return target.clone();
    }
    let slug = header_slug(header);
    if slug.is_empty() {
        return Target::Ignore;
    }
    let words: Vec<&str> = folded.split(' ').collect();
    if OPT_OUT.iter().any(|p| has_phrase(&words, p)) {
        return Target::Custom(slug);
    }
    let marketing_ok = words.contains(&"marketing") && words.iter().any(|w| matches!(*w, "ok" | "okay" | "allowed"));
    if marketing_ok || CONSENT.iter().any(|p| has_phrase(&words, p)) {
        return Target::Consent(slug);
    }
    Target::Custom(slug)
}

/// The next field of the same kind, for a second column of that kind.
fn next_of_kind(target: &Target) -> Option<Target> {
    match target {
        Target::Email => Some(Target::Email2),
        Target::Phone | Target::Mobile => Some(Target::Phone2),
        Target::Line1 => Some(Target::Line2),
        Target::Line2 => Some(Target::Line3),
        _ => None,
    }
}

/// Suggest a mapping for every column (blank headers are ignored; unrecognised ones become
/// custom attributes). No field is suggested twice.
pub fn suggest_mapping(headers: &[String]) -> Mapping {
    let mut taken: HashSet<Target> = HashSet::new();
    let mut columns = Vec::with_capacity(headers.len());
    for (column, header) in headers.iter().enumerate() {
        let mut target = suggest_target(header);
        while taken.contains(&target) {
            target = match &target {
                Target::Consent(s) | Target::Custom(s) => {
                    let consent = matches!(target, Target::Consent(_));
                    let make = |name: String| {
                        if consent {
                            Target::Consent(name)
                        } else {
                            Target::Custom(name)
                        }
                    };
                    (2..)
                        .map(|n| make(format!("{s}_{n}")))
                        .find(|t| !taken.contains(t))
                        .unwrap_or(Target::Ignore)
                }
                Target::Ignore => break,
                other => next_of_kind(other).unwrap_or_else(|| Target::Custom(header_slug(header))),
            };
        }
        taken.insert(target.clone());
        columns.push(ColumnMapping {
            column,
            header: header.clone(),
            target,
        });
    }
    Mapping { columns }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_spellings() {
        let consent = |s: &str| Target::Consent(s.to_string());
        let custom = |s: &str| Target::Custom(s.to_string());
        let cases = [
            ("First Name", Target::GivenName),
            ("FORENAME", Target::GivenName),
            ("given_name", Target::GivenName),
            ("First", Target::GivenName),
            ("Surname", Target::FamilyName),
            ("Last name", Target::FamilyName),
            ("Family-Name", Target::FamilyName),
            ("Known as", Target::PreferredName),
            ("Preferred", Target::PreferredName),
            ("Salutation", Target::Title),
            ("E-mail", Target::Email),
            ("Email Address", Target::Email),
            ("email", Target::Email),
            ("Email 2", Target::Email2),
            ("Secondary email", Target::Email2),
            ("Mobile phone", Target::Mobile),
            ("Tel.", Target::Phone),
            ("Telephone", Target::Phone),
            ("Home phone", Target::Phone),
            ("Work phone", Target::Phone2),
            ("Address Line 1", Target::Line1),
            ("Address 2", Target::Line2),
            ("address_line_3", Target::Line3),
            ("Street", Target::Line1),
            ("Town/City", Target::Town),
            ("City", Target::Town),
            ("County", Target::County),
            ("Post code", Target::Postcode),
            ("ZIP", Target::Postcode),
            ("Country", Target::Country),
            ("DOB", Target::DateOfBirth),
            ("Date of birth (dd/mm/yyyy)", Target::DateOfBirth),
            ("Birth date", Target::DateOfBirth),
            ("Organisation", Target::Organisation),
            ("Organization", Target::Organisation),
            ("Company", Target::Organisation),
            ("Employer", Target::Organisation),
            ("ID", Target::ExternalId),
            ("Ref", Target::ExternalId),
            ("External ID", Target::ExternalId),
            ("Contact ID", Target::ExternalId),
            ("Record Id", Target::ExternalId),
            ("Tags", Target::Tags),
            ("Groups", Target::Tags),
            ("Email opt-in", consent("email_opt_in")),
            ("Consent – newsletter", consent("consent_newsletter")),
            ("Marketing OK", consent("marketing_ok")),
            ("SMS consent?", consent("sms_consent")),
            ("Opt out of post", custom("opt_out_of_post")),
            ("Unsubscribed", custom("unsubscribed")),
            ("Do not email", custom("do_not_email")),
            ("Membership No.", custom("membership_no")),
            ("Notes", custom("notes")),
            ("   ", Target::Ignore),
            ("", Target::Ignore),
        ];
        for (header, want) in cases {
            assert_eq!(suggest_target(header), want, "{header:?}");
        }
    }

    #[test]
    fn a_phrase_is_found_among_many_words_at_once() {
        // 20,000 words before the phrase: joining every start to the end of the header took
        // minutes in a debug build.
        let long = format!("{} email opt in", "note ".repeat(20_000));
        assert!(matches!(suggest_target(&long), Target::Consent(_)));
        let refusal = format!("{} do not email", "opt ".repeat(20_000));
        assert!(matches!(suggest_target(&refusal), Target::Custom(_)));
    }

    #[test]
    fn no_field_twice() {
        let headers: Vec<String> = [
            "Email",
            "E-mail",
            "Email",
            "Phone",
            "Telephone",
            "Mobile",
            "Address",
            "Address",
            "Address",
            "Address",
            "Notes",
            "Notes",
            "Opt-in",
            "Opt in",
        ]
        .map(String::from)
        .to_vec();
        let m = suggest_mapping(&headers);
        let targets: Vec<String> = m.columns.iter().map(|c| c.target.to_string()).collect();
        assert_eq!(
            targets,
            [
                "email",
                "email2",
                "custom:email",
                "phone",
                "phone2",
                "mobile",
                "line1",
                "line2",
                "line3",
                "custom:address",
                "custom:notes",
                "custom:notes_2",
                "consent:opt_in",
                "consent:opt_in_2"
            ]
        );
        assert_eq!(
            m.columns.iter().map(|c| c.column).collect::<Vec<_>>(),
            (0..headers.len()).collect::<Vec<_>>()
        );
        assert_eq!(super::super::validate_mapping(&m, &headers), Ok(()));
    }
}
