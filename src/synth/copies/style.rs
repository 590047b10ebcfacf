//! How each department writes its list: headers, case, and the forms of dates, phone numbers,
//! postcodes and external ids.

use super::noise::{self, Case, DateStyle, PhoneStyle, PostcodeStyle};
use super::Record;

/// A column of a departmental list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The department's own id of the row.
    Id,
    /// Title.
    Title,
    /// Given name.
    Given,
    /// Family name.
    Family,
    /// Date of birth.
    Dob,
    /// Email address.
    Email,
    /// Phone number.
    Phone,
    /// First address line.
    Line1,
    /// Second address line (the street, for flats).
    Line2,
    /// The first line and, for flats, the street, in one cell.
    Street,
    /// Post town.
    Town,
    /// Postcode.
    Postcode,
    /// Employer.
    Organisation,
}

/// How one department writes its list.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Header and content of each column, in order.
    pub columns: &'static [(&'static str, Column)],
    /// Case of names, addresses and emails.
    case: Case,
    /// Form of dates.
    date: DateStyle,
    /// Form of phone numbers.
    phone: PhoneStyle,
    /// Form of postcodes.
    postcode: PostcodeStyle,
    /// External ids: a prefix and whether they are written in hexadecimal.
    id_prefix: &'static str,
    id_hex: bool,
}

/// The departments' ways, used in turn: a box-office system, a legacy mainframe export (capitals,
/// ISO dates) and a web form (lower case, month names).
pub const STYLES: [Style; 3] = [
    Style {
        columns: &[
            ("Ref", Column::Id),
            ("Title", Column::Title),
            ("Forename", Column::Given),
            ("Surname", Column::Family),
            ("DOB", Column::Dob),
            ("Email", Column::Email),
            ("Mobile", Column::Phone),
            ("Address Line 1", Column::Line1),
            ("Address Line 2", Column::Line2),
            ("Town", Column::Town),
            ("Postcode", Column::Postcode),
            ("Organisation", Column::Organisation),
        ],
        case: Case::AsIs,
        date: DateStyle::DayFirst,
        phone: PhoneStyle::National,
        postcode: PostcodeStyle::Spaced,
        id_prefix: "B",
        id_hex: false,
    },
    Style {
        columns: &[
            ("External ID", Column::Id),
            ("Last Name", Column::Family),
            ("First Name", Column::Given),
            ("Date of birth", Column::Dob),
            ("Email Address", Column::Email),
            ("Phone", Column::Phone),
            ("Address", Column::Street),
            ("City", Column::Town),
            ("Post Code", Column::Postcode),
            ("Company", Column::Organisation),
        ],
        case: Case::Upper,
        date: DateStyle::Iso,
        phone: PhoneStyle::International,
        postcode: PostcodeStyle::Unspaced,
        id_prefix: "",
        id_hex: false,
    },
    Style {
        columns: &[
            ("Contact ID", Column::Id),
            ("Given Name", Column::Given),
            ("Family Name", Column::Family),
            ("Birth Date", Column::Dob),
            ("E-mail", Column::Email),
            ("Telephone", Column::Phone),
            ("Street", Column::Line1),
            ("Town/City", Column::Town),
            ("Postal code", Column::Postcode),
        ],
        case: Case::Lower,
        date: DateStyle::MonthName,
        phone: PhoneStyle::Compact,
        postcode: PostcodeStyle::Lower,
        id_prefix: "C-",
        id_hex: true,
    },
];

/// The cells of `r` in `style`'s columns.
pub fn cells(r: &Record, style: &Style, external_id: &str) -> Vec<String> {
    let text = |v: &Option<String>| v.as_deref().map(|s| noise::in_case(s, style.case)).unwrap_or_default();
    style
        .columns
        .iter()
        .map(|(_, column)| match column {
            Column::Id => external_id.to_string(),
            Column::Title => r.title.clone().unwrap_or_default(),
            Column::Given => noise::in_case(&r.given, style.case),
            Column::Family => noise::in_case(&r.family, style.case),
            Column::Dob => r.dob.map(|d| noise::format_date(d, style.date)).unwrap_or_default(),
            Column::Email => text(&r.email),
            Column::Phone => r
                .phone
                .as_deref()
                .map(|p| noise::format_phone(p, style.phone))
                .unwrap_or_default(),
            Column::Line1 => text(&r.line1),
            Column::Line2 => text(&r.line2),
            Column::Street => match (&r.line1, &r.line2) {
                (Some(a), Some(b)) => noise::in_case(&format!("{a}, {b}"), style.case),
                (a, _) => text(a),
            },
            Column::Town => text(&r.town),
            Column::Postcode => r
                .postcode
                .as_deref()
                .map(|p| noise::format_postcode(p, style.postcode))
                .unwrap_or_default(),
            Column::Organisation => r.organisation.clone().unwrap_or_default(),
        })
        .collect()
}

/// Ids below 2^36 are scrambled by a bijection, so they are unique in a department and say
/// nothing about the entity or the row order.
const ID_BITS: u32 = 36;

/// The external id of the `n`-th row of department `dept`.
pub fn external_id(seed: u64, dept: usize, n: u64, style: &Style) -> String {
    let mask = (1u64 << ID_BITS) - 1;
    let salt = crate::synth::rng::mix64(seed ^ (dept as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let scrambled = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask) ^ (salt & mask);
    if style.id_hex {
        format!("{}{scrambled:09X}", style.id_prefix)
    } else {
        format!("{}{scrambled:011}", style.id_prefix)
    }
}
