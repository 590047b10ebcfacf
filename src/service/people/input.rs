//! What clients send to create or change a person, and its validation into stored values.
//!
//! Every problem is collected (not just the first) and reported with its JSON path.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

use crate::db::people::PersonFields;
use crate::error::FieldError;
use crate::normalize::{email::parse_email, phone::normalize_phone, postcode::normalize_postcode, text};

/// An email address of a person.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    /// The address.
    pub address: String,
    /// Whether it is the primary address (the first is primary when none is marked).
    #[serde(default)]
    pub primary: bool,
}

/// Kinds of phone number.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PhoneLabel {
    /// Mobile.
    Mobile,
    /// Home.
    Home,
    /// Work.
    Work,
    /// Anything else.
    Other,
}

impl PhoneLabel {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneLabel::Mobile => "mobile",
            PhoneLabel::Home => "home",
            PhoneLabel::Work => "work",
            PhoneLabel::Other => "other",
        }
    }
}

/// A phone number of a person, in any usual written form (UK numbers without a country code).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    /// The number, e.g. "07700 900123" or "+44 20 7946 0000".
    pub number: String,
    /// Kind; UK mobiles default to `mobile`, others to `other`.
    pub label: Option<PhoneLabel>,
    /// Primary number.
    #[serde(default)]
    pub primary: bool,
}

/// A postal address.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// Third line.
    pub line3: Option<String>,
    /// Town or city.
    pub town: Option<String>,
    /// County.
    pub county: Option<String>,
    /// Postcode (UK postcodes are normalised, e.g. "ec2v7hh" → "EC2V 7HH").
    pub postcode: Option<String>,
    /// ISO 3166 alpha-2 country code; default `GB`.
    pub country: Option<String>,
    /// Primary address.
    #[serde(default)]
    pub primary: bool,
}

/// Create a person.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonRequest {
    /// Title, e.g. "Dr".
    pub title: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// The name they like to be called.
    pub preferred_name: Option<String>,
    /// Date of birth (YYYY-MM-DD).
    pub date_of_birth: Option<NaiveDate>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Email addresses.
    #[serde(default)]
    pub emails: Vec<EmailInput>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    /// Postal addresses.
    #[serde(default)]
    pub addresses: Vec<AddressInput>,
    /// Tags (lower-cased).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Department codes to link the person to (a department editor must give one of theirs).
    #[serde(default)]
    pub departments: Vec<String>,
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Change a person: absent fields stay as they are, `null` clears, lists replace the whole list.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePersonRequest {
    /// The version read (or send `If-Match`); a stale version is refused.
    pub version: Option<i64>,
    /// Title.
    #[serde(default, deserialize_with = "double")]
    #[schemars(with = "Option<String>")]
    pub title: Option<Option<String>>,
    /// Given name.
    #[serde(default, deserialize_with = "double")]
    #[schemars(with = "Option<String>")]
    pub given_name: Option<Option<String>>,
    /// Family name.
    #[serde(default, deserialize_with = "double")]
    #[schemars(with = "Option<String>")]
    pub family_name: Option<Option<String>>,
    /// Preferred name.
    #[serde(default, deserialize_with = "double")]
    #[schemars(with = "Option<String>")]
    pub preferred_name: Option<Option<String>>,
    /// Date of birth.
    #[serde(default, deserialize_with = "double")]
    #[schemars(with = "Option<NaiveDate>")]
    pub date_of_birth: Option<Option<NaiveDate>>,
    /// Organisation.
    #[serde(default, deserialize_with = "double")]
    #[schemars(with = "Option<String>")]
    pub organisation: Option<Option<String>>,
    /// Replaces every email.
    pub emails: Option<Vec<EmailInput>>,
    /// Replaces every phone.
    pub phones: Option<Vec<PhoneInput>>,
    /// Replaces every address.
    pub addresses: Option<Vec<AddressInput>>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
    /// Adds links to these departments (links are never removed here).
    pub departments: Option<Vec<String>>,
}

/// A validated email.
#[derive(Debug, Clone)]
pub struct CleanEmail {
    /// As given.
    pub address: String,
    /// Key.
    pub key: String,
    /// Primary.
    pub primary: bool,
}

/// A validated phone.
#[derive(Debug, Clone)]
pub struct CleanPhone {
    /// E.164.
    pub number: String,
    /// Label.
    pub label: &'static str,
    /// Primary.
    pub primary: bool,
}

/// A validated address.
#[derive(Debug, Clone)]
pub struct CleanAddress {
    /// Lines.
    pub line1: String,
    /// Line 2.
    pub line2: Option<String>,
    /// Line 3.
    pub line3: Option<String>,
    /// Town.
    pub town: Option<String>,
    /// County.
    pub county: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Country.
    pub country: String,
    /// Primary.
    pub primary: bool,
}

/// Collects field errors while validating.
#[derive(Default)]
pub struct Checker {
    /// Problems found.
    pub errors: Vec<FieldError>,
}

impl Checker {
    /// A cleaned optional text value.
    pub fn text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value?;
        if v.trim().is_empty() {
            return None;
        }
        match text::clean_text(v, max) {
            Ok(s) => Some(s),
            Err(e) => {
                self.errors.push(FieldError::new(field, e.code, e.message));
                None
            }
        }
    }

    /// A date of birth: not in the future, not before 1900.
    pub fn dob(&mut self, value: Option<NaiveDate>, today: NaiveDate) -> Option<NaiveDate> {
        let d = value?;
        let floor = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        if d > today || d < floor {
            self.errors.push(FieldError::new(
                "date_of_birth",
                "out_of_range",
                "Give a date between 1900 and today.",
            ));
        }
        Some(d)
    }

    /// Emails, with one primary.
    pub fn emails(&mut self, input: &[EmailInput]) -> Vec<CleanEmail> {
        let mut seen = HashSet::new();
        let mut out: Vec<CleanEmail> = Vec::new();
        for (i, e) in input.iter().enumerate() {
            match parse_email(&e.address) {
                Ok(p) if seen.insert(p.key.clone()) => out.push(CleanEmail {
                    address: p.display,
                    key: p.key,
                    primary: e.primary,
                }),
                Ok(_) => self.errors.push(FieldError::new(
                    format!("emails[{i}].address"),
                    "duplicate",
                    "This address is listed twice.",
                )),
                Err(err) => self
                    .errors
                    .push(FieldError::new(format!("emails[{i}].address"), err.code, err.message)),
            }
        }
        self.one_primary("emails", out.iter().map(|e| e.primary).collect::<Vec<_>>(), |i| {
            out[i].primary = true
        });
        out
    }

    /// Phones in E.164, with one primary.
    pub fn phones(&mut self, input: &[PhoneInput]) -> Vec<CleanPhone> {
        let mut seen = HashSet::new();
        let mut out: Vec<CleanPhone> = Vec::new();
        for (i, p) in input.iter().enumerate() {
            match normalize_phone(&p.number) {
                Ok(n) if seen.insert(n.clone()) => {
                    let default = if crate::normalize::phone::is_uk_mobile(&n) {
                        PhoneLabel::Mobile
                    } else {
                        PhoneLabel::Other
                    };
                    let label = p.label.unwrap_or(default).as_str();
                    out.push(CleanPhone {
                        number: n,
                        label,
                        primary: p.primary,
                    })
                }
                Ok(_) => self.errors.push(FieldError::new(
                    format!("phones[{i}].number"),
                    "duplicate",
                    "This number is listed twice.",
                )),
                Err(err) => self
                    .errors
                    .push(FieldError::new(format!("phones[{i}].number"), err.code, err.message)),
            }
        }
        self.one_primary("phones", out.iter().map(|p| p.primary).collect::<Vec<_>>(), |i| {
            out[i].primary = true
        });
        out
    }

    /// Addresses with normalised postcodes, with one primary.
    pub fn addresses(&mut self, input: &[AddressInput]) -> Vec<CleanAddress> {
        let mut out: Vec<CleanAddress> = Vec::new();
        for (i, a) in input.iter().enumerate() {
            let f = |name: &str| format!("addresses[{i}].{name}");
            let country = a.country.as_deref().unwrap_or("GB").trim().to_ascii_uppercase();
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                self.errors.push(FieldError::new(
                    f("country"),
                    "invalid_country",
                    "Use a two-letter country code such as GB.",
                ));
            }
            let postcode = match a.postcode.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                None => None,
                Some(p) if country == "GB" => match normalize_postcode(p) {
                    Ok(n) => Some(n),
                    Err(err) => {
                        self.errors.push(FieldError::new(f("postcode"), err.code, err.message));
                        None
                    }
                },
                Some(p) => self.text(&f("postcode"), Some(p), 16),
            };
            let Some(line1) = self.text(&f("line1"), Some(&a.line1), 200) else {
                if a.line1.trim().is_empty() {
                    self.errors.push(FieldError::new(
                        f("line1"),
                        "required",
                        "Give the first line of the address.",
                    ));
                }
                continue;
            };
            out.push(CleanAddress {
                line1,
                line2: self.text(&f("line2"), a.line2.as_deref(), 200),
                line3: self.text(&f("line3"), a.line3.as_deref(), 200),
                town: self.text(&f("town"), a.town.as_deref(), 100),
                county: self.text(&f("county"), a.county.as_deref(), 100),
                postcode,
                country,
                primary: a.primary,
            });
        }
        self.one_primary("addresses", out.iter().map(|a| a.primary).collect::<Vec<_>>(), |i| {
            out[i].primary = true
        });
        out
    }

    /// Tags: cleaned, lower-cased, de-duplicated.
    pub fn tags(&mut self, input: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (i, t) in input.iter().enumerate() {
            if let Some(tag) = self.text(&format!("tags[{i}]"), Some(t), 50).map(|t| t.to_lowercase()) {
                if !out.contains(&tag) {
                    out.push(tag);
                }
            }
        }
        out.sort();
        out
    }

    fn one_primary(&mut self, field: &str, flags: Vec<bool>, mut set_first: impl FnMut(usize)) {
        match flags.iter().filter(|p| **p).count() {
            0 if !flags.is_empty() => set_first(0),
            0 | 1 => {}
            _ => self.errors.push(FieldError::new(
                field,
                "several_primary",
                "Mark at most one as primary.",
            )),
        }
    }
}

/// The stored scalar fields, with the folded search columns derived from the names.
pub fn person_fields(
    title: Option<String>,
    given: Option<String>,
    family: Option<String>,
    preferred: Option<String>,
    dob: Option<NaiveDate>,
    organisation: Option<String>,
) -> PersonFields {
    let fold = |s: &Option<String>| s.as_deref().map(text::fold).unwrap_or_default();
    let given_fold = fold(&given);
    let family_fold = fold(&family);
    let full_fold = format!("{given_fold} {family_fold}").trim().to_string();
    PersonFields {
        preferred_fold: fold(&preferred),
        title,
        given_name: given,
        family_name: family,
        preferred_name: preferred,
        date_of_birth: dob,
        organisation,
        given_fold,
        family_fold,
        full_fold,
    }
}
