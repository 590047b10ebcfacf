//! Validation and normalisation of one import row into the values of a person.
//!
//! Policy (every problem is reported with its column; nothing is dropped silently):
//! - A row is rejected when it has nothing to identify the person: no name (given, family
//!   or preferred), no valid email and no valid phone (`no_identity`).
//! - Invalid email or phone: when the row still identifies the person, a warning and the
//!   value is not imported; otherwise an error (and the row is rejected).
//! - Invalid UK postcode (country blank, GB, JE, GG or IM): a warning quoting the value,
//!   and the address is imported without a postcode. Other countries' postcodes are kept
//!   as written. An unrecognised country is a warning and left blank.
//! - Date of birth: any form [`parse_date`] reads, in the file's [`DateOrder`]; a value
//!   that is not a date, only makes sense in the other day/month order, or falls before
//!   1900 or after today is a warning and not imported.
//! - Title: the usual short form when recognised; otherwise kept as written, with a warning.
//! - Names are title-cased when written in ALL CAPS or all lower case ([`fix_name_case`]).
//! - Consent: see [`parse_consent`]; an unrecognised answer is a warning and `Unknown`.
//! - Any other value that cannot be cleaned (control characters, too long) is an error, as
//!   is a value the reader could not read (`field_too_long` in a mapped column) or a row
//!   with more cells than the header (`too_many_cells`: its values may be misaligned).
//! - The address is present when any address field other than the country has a value.
//!
//! [`parse_date`]: super::parse_date
//! [`fix_name_case`]: super::fix_name_case
//! [`parse_consent`]: super::parse_consent

use chrono::{NaiveDate, TimeDelta};
use serde::{Serialize, Serializer};

use super::consent::{parse_consent, ConsentValue};
use super::csv_reader::RawRow;
use super::dates::{parse_date, DateOrder};
use super::fields::{country_code, free_text, phone, phone_label, single_line, split_tags, uses_uk_postcodes};
use super::hash::content_hash;
use super::mapping::{Mapping, Target};
use super::names::{fix_name_case, normalize_title};
use super::RowProblem;
use crate::normalize::{email::parse_email, postcode::normalize_postcode};

/// Settings for [`clean_row`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOptions {
    /// How to read numeric dates (default day first, as in UK files).
    pub date_order: DateOrder,
    /// Today's date: dates of birth after it are refused, and it resolves two-digit years.
    pub today: NaiveDate,
}

impl Default for RowOptions {
    /// Day-first dates; `today` from the system clock (UTC).
    fn default() -> Self {
        let days = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let today = TimeDelta::try_days(i64::try_from(days).unwrap_or(0))
            .and_then(|d| epoch.checked_add_signed(d))
            .unwrap_or(epoch);
        Self {
            date_order: DateOrder::DayFirst,
            today,
        }
    }
}

/// A postal address from one row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CleanAddress {
    /// Line 1 (the people service requires it to store an address).
    pub line1: Option<String>,
    /// Line 2.
    pub line2: Option<String>,
    /// Line 3.
    pub line3: Option<String>,
    /// Town or city.
    pub town: Option<String>,
    /// County.
    pub county: Option<String>,
    /// Postcode: normalised (`EC2V 7HH`) for UK addresses, as written for others.
    pub postcode: Option<String>,
    /// ISO 3166 alpha-2 country code; `None` when blank (the caller defaults to GB).
    pub country: Option<String>,
}

fn iso_date<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

/// A row that can be imported, with every value normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanRow {
    /// Row number as a spreadsheet shows it.
    pub number: u64,
    /// The source system's identifier.
    pub external_id: Option<String>,
    /// Title, e.g. "Dr".
    pub title: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Preferred name.
    pub preferred_name: Option<String>,
    /// Date of birth.
    #[serde(serialize_with = "iso_date")]
    pub date_of_birth: Option<NaiveDate>,
    /// Email addresses as (display, key), without repeats; the first is the main one.
    pub emails: Vec<(String, String)>,
    /// Phone numbers as (E.164, label), without repeats.
    pub phones: Vec<(String, &'static str)>,
    /// Postal address.
    pub address: Option<CleanAddress>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Tags: lower case, sorted, without repeats.
    pub tags: Vec<String>,
    /// Consent answers by purpose slug, including `Unknown` for blank cells.
    pub consents: Vec<(String, ConsentValue)>,
    /// Custom attributes (name, value), blank values left out.
    pub custom: Vec<(String, String)>,
    /// Problems that did not stop the row (the values concerned were not imported).
    pub warnings: Vec<RowProblem>,
    /// Hash of the normalised values (see [`content_hash`]).
    pub content_hash: String,
}

impl CleanRow {
    /// A row with nothing in it.
    pub(crate) fn empty(number: u64) -> Self {
        Self {
            number,
            external_id: None,
            title: None,
            given_name: None,
            family_name: None,
            preferred_name: None,
            date_of_birth: None,
            emails: Vec::new(),
            phones: Vec::new(),
            address: None,
            organisation: None,
            tags: Vec::new(),
            consents: Vec::new(),
            custom: Vec::new(),
            warnings: Vec::new(),
            content_hash: String::new(),
        }
    }
}

/// What became of one row.
// Rows are handled one at a time, so the size difference costs nothing worth a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RowOutcome {
    /// The row can be imported.
    Clean(CleanRow),
    /// The row cannot be imported.
    Rejected {
        /// Row number as a spreadsheet shows it.
        number: u64,
        /// The row's external id, when it has a readable one (to find it in the source).
        external_id: Option<String>,
        /// Why; the row's warnings are included too.
        errors: Vec<RowProblem>,
    },
}

/// How a problem counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Severity {
    Error,
    Warning,
    /// A bad email or phone: a warning if the row still identifies the person.
    Contact,
}

struct Problems(Vec<(Severity, RowProblem)>);

impl Problems {
    fn push(&mut self, severity: Severity, p: RowProblem) {
        self.0.push((severity, p));
    }

    fn warn(&mut self, header: &str, code: &'static str, message: String) {
        self.push(Severity::Warning, RowProblem::cell(header, code, message));
    }

    /// The value, or `None` with the problem recorded as an error.
    fn ok<T>(&mut self, r: Result<T, RowProblem>) -> Option<T> {
        r.map_err(|p| self.push(Severity::Error, p)).ok()
    }
}

/// Validate and normalise one row with a mapping (see the module policy). Never panics.
pub fn clean_row(raw: &RawRow, mapping: &Mapping, opts: &RowOptions) -> RowOutcome {
    let mut problems = Problems(Vec::new());
    for p in &raw.problems {
        let mapped = |header: &str| {
            mapping
                .columns
                .iter()
                .any(|c| c.header == header && c.target != Target::Ignore)
        };
        let fatal = match p.code {
            "too_many_cells" => true,
            "field_too_long" => p.column.as_deref().is_none_or(mapped),
            _ => false,
        };
        problems.push(if fatal { Severity::Error } else { Severity::Warning }, p.clone());
    }
    let mut row = CleanRow::empty(raw.number);
    let mut address = CleanAddress::default();
    let mut postcode: Option<(&str, &str)> = None;
    for cm in &mapping.columns {
        let value = raw.cell(cm.column);
        let h = cm.header.as_str();
        if let Target::Consent(slug) = &cm.target {
            let parsed = parse_consent(value).unwrap_or_else(|| {
                let message = format!(
                    "\"{}\" is not a consent answer (yes/no/withdrawn); it was read as unknown.",
                    value.trim()
                );
                problems.warn(h, "unrecognised_consent", message);
                ConsentValue::Unknown
            });
            row.consents.push((slug.clone(), parsed));
            continue;
        }
        if value.trim().is_empty() {
            continue;
        }
        let name = |p: &mut Problems, max| p.ok(single_line(h, value, max)).map(|n| fix_name_case(&n));
        match &cm.target {
            Target::GivenName => row.given_name = name(&mut problems, 100),
            Target::FamilyName => row.family_name = name(&mut problems, 100),
            Target::PreferredName => row.preferred_name = name(&mut problems, 100),
            Target::Title => row.title = title(&mut problems, h, value),
            Target::Email | Target::Email2 => match parse_email(value) {
                Ok(e) if row.emails.iter().any(|(_, k)| *k == e.key) => {}
                Ok(e) => row.emails.push((e.display, e.key)),
                Err(e) => problems.push(Severity::Contact, RowProblem::cell(h, e.code, e.message)),
            },
            Target::Phone | Target::Mobile | Target::Phone2 => match phone(h, value) {
                Ok((n, _)) if row.phones.iter().any(|(k, _)| *k == n) => {}
                Ok((n, zero_added)) => {
                    if zero_added {
                        let message = format!(
                            "\"{}\" had lost its leading 0 (spreadsheets drop it); it was read as {n}.",
                            value.trim()
                        );
                        problems.warn(h, "leading_zero_added", message);
                    }
                    row.phones.push((n.clone(), phone_label(&cm.target, h, &n)));
                }
                Err(p) => problems.push(Severity::Contact, p),
            },
            Target::Line1 => address.line1 = problems.ok(single_line(h, value, 200)),
            Target::Line2 => address.line2 = problems.ok(single_line(h, value, 200)),
            Target::Line3 => address.line3 = problems.ok(single_line(h, value, 200)),
            Target::Town => address.town = problems.ok(single_line(h, value, 100)),
            Target::County => address.county = problems.ok(single_line(h, value, 100)),
            Target::Postcode => postcode = Some((h, value)),
            Target::Country => {
                address.country = country_code(value);
                if address.country.is_none() {
                    let message = format!(
                        "\"{}\" is not a country this import recognises; give a two-letter code such as GB.",
                        value.trim()
                    );
                    problems.warn(h, "unrecognised_country", message);
                }
            }
            Target::DateOfBirth => row.date_of_birth = date_of_birth(&mut problems, h, value, opts),
            Target::Organisation => row.organisation = problems.ok(single_line(h, value, 200)),
            Target::ExternalId => row.external_id = problems.ok(single_line(h, value, 100)),
            Target::Tags => row.tags.extend(problems.ok(split_tags(h, value)).unwrap_or_default()),
            Target::Custom(attribute) => {
                if let Some(v) = problems.ok(free_text(h, value)) {
                    row.custom.push((attribute.clone(), v));
                }
            }
            Target::Consent(_) | Target::Ignore => {}
        }
    }
    if let Some((h, value)) = postcode {
        address.postcode = if uses_uk_postcodes(address.country.as_deref()) {
            normalize_postcode(value)
                .map_err(|e| {
                    let message = format!(
                        "\"{}\": {} The address was imported without it.",
                        value.trim(),
                        e.message
                    );
                    problems.warn(h, e.code, message);
                })
                .ok()
        } else {
            problems.ok(single_line(h, value, 16))
        };
    }
    let a = &address;
    if [&a.line1, &a.line2, &a.line3, &a.town, &a.county, &a.postcode]
        .iter()
        .any(|f| f.is_some())
    {
        row.address = Some(address);
    }
    row.tags.sort();
    row.tags.dedup();
    finish(row, problems)
}

fn title(problems: &mut Problems, h: &str, value: &str) -> Option<String> {
    let cleaned = problems.ok(single_line(h, value, 20))?;
    normalize_title(&cleaned).or_else(|| {
        let message = format!("\"{cleaned}\" is not a title this import knows; it was kept as written.");
        problems.warn(h, "unrecognised_title", message);
        Some(cleaned)
    })
}

fn date_of_birth(problems: &mut Problems, h: &str, value: &str, opts: &RowOptions) -> Option<NaiveDate> {
    let floor = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    match parse_date(value, opts.date_order, opts.today) {
        Ok(d) if d >= floor && d <= opts.today => Some(d),
        Ok(d) => {
            let message = format!("The date of birth {d} is not between 1900 and today, so it was not imported.");
            problems.warn(h, "date_out_of_range", message);
            None
        }
        Err(e) => {
            problems.warn(h, e.code, format!("{} The date of birth was not imported.", e.message));
            None
        }
    }
}

/// Decide the outcome: resolve contact problems, check identity, hash.
fn finish(mut row: CleanRow, problems: Problems) -> RowOutcome {
    let named = row.given_name.is_some() || row.family_name.is_some() || row.preferred_name.is_some();
    let identified = named || !row.emails.is_empty() || !row.phones.is_empty();
    let mut errors = Vec::new();
    for (severity, mut p) in problems.0 {
        match severity {
            Severity::Error => errors.push(p),
            Severity::Contact if !identified => errors.push(p),
            Severity::Contact => {
                p.message.push_str(" It was not imported.");
                row.warnings.push(p);
            }
            Severity::Warning => row.warnings.push(p),
        }
    }
    if !identified {
        errors.push(RowProblem::row(
            "no_identity",
            "Nothing to identify the person: the row has no name, no valid email and no valid phone number.",
        ));
    }
    if errors.is_empty() {
        row.content_hash = content_hash(&row);
        RowOutcome::Clean(row)
    } else {
        errors.append(&mut row.warnings);
        RowOutcome::Rejected {
            number: row.number,
            external_id: row.external_id,
            errors,
        }
    }
}
