//! Segment filter DSL: a saved filter over people, written as a JSON expression, parsed into a
//! validated [`Expr`]. Pure: no database here.
//!
//! Policy:
//! - **Closed grammar.** Combinators `and`, `or` (1–[`MAX_CHILDREN`] children) and `not`; leaves
//!   `field`, `tag`, `department`, `engaged`, `score`, `consent`. Every object has a fixed set of
//!   keys; an unknown key is an error, never ignored. Names, operators, channels, states and
//!   actions are enums; department, purpose and activity-kind codes and activity public ids must
//!   have the project's code shapes. Only `tag` and text-field values are free text: they are
//!   kept as opaque strings (≤ [`MAX_STRING_CHARS`] characters, no control characters).
//! - **Limits.** At most [`MAX_DEPTH`] levels of nesting (the leaf included) and [`MAX_NODES`]
//!   expressions in all; `in` lists hold 1–[`MAX_IN_VALUES`] strings.
//! - **No SQL text.** The service layer turns each [`Leaf`] into one fixed, parameterised query
//!   that returns a set of person ids, and combines the sets with [`evaluate`]: `and` is
//!   intersection, `or` union, `not` difference from the universe of contactable-eligible people.
//!   No string from a filter is ever spliced into SQL.
//! - **Errors.** [`parse`] reports every problem it finds (up to [`MAX_ERRORS`]), each with a
//!   JSON Pointer into the input. A `null` optional key counts as absent.
//! - **Canonical form.** [`Expr`] serialises back to the same JSON shape, with defaults written
//!   out (`consent.state`, `engaged.min_count`) and date-times in UTC (`…Z`).

use std::cmp::Ordering;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Deepest nesting allowed, counting the leaf (a bare leaf has depth 1).
pub const MAX_DEPTH: usize = 10;
/// Most expressions (combinators and leaves) in one filter.
pub const MAX_NODES: usize = 200;
/// Most children of one `and` / `or`.
pub const MAX_CHILDREN: usize = 50;
/// Most strings in one `in` list.
pub const MAX_IN_VALUES: usize = 1000;
/// Longest free-text value, in characters.
pub const MAX_STRING_CHARS: usize = 200;
/// Largest `engaged.within_days`.
pub const MAX_WITHIN_DAYS: u32 = 3650;
/// Largest `engaged.min_count`.
pub const MAX_MIN_COUNT: u32 = 10_000;
/// Most errors reported by one [`parse`]; one more says that reporting stopped.
pub const MAX_ERRORS: usize = 100;

const EXPR_KEYS: &[&str] = &[
    "and",
    "or",
    "not",
    "field",
    "tag",
    "department",
    "engaged",
    "score",
    "consent",
];

/// Closed string enums: DSL spelling, parsing, serialisation.
trait Grammar: Sized + Copy + 'static {
    fn all() -> &'static [Self];
    fn name(self) -> &'static str;
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $(#[doc = concat!("`", $s, "`")] $var),+ }
        impl $name {
            /// Every variant, in grammar order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The DSL spelling.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
        }
        impl Grammar for $name {
            fn all() -> &'static [Self] { Self::ALL }
            fn name(self) -> &'static str { self.as_str() }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// A person attribute a `field` leaf can test.
    FieldName { Postcode = "postcode", PostcodeDistrict = "postcode_district", GivenName = "given_name",
    FamilyName = "family_name", DateOfBirth = "date_of_birth", Organisation = "organisation",
    CreatedAt = "created_at", EmailDomain = "email_domain" }
);
string_enum!(
    /// A `field` operator.
    FieldOp { Eq = "eq", Ne = "ne", StartsWith = "starts_with", In = "in", Before = "before", After = "after",
    IsSet = "is_set", IsNotSet = "is_not_set" }
);
string_enum!(
    /// An engagement action.
    Action { Invited = "invited", Registered = "registered", Attended = "attended", NoShow = "no_show",
    Cancelled = "cancelled", Volunteered = "volunteered", Responded = "responded", Sent = "sent",
    Delivered = "delivered", Opened = "opened", Clicked = "clicked", Bounced = "bounced",
    Unsubscribed = "unsubscribed", Complained = "complained" }
);
string_enum!(
    /// A journey score (integers 0–5).
    ScoreName { Recency = "recency", Frequency = "frequency", Breadth = "breadth" }
);
string_enum!(
    /// A score comparison.
    ScoreOp { Gte = "gte", Lte = "lte", Eq = "eq" }
);
string_enum!(
    /// A contact channel.
    Channel { Email = "email", Sms = "sms", Post = "post", Phone = "phone" }
);
string_enum!(
    /// A consent state (`none`: no recorded consent; `contactable`: the contact decision allows
    /// contact now, with lawful basis, suppression and restriction all weighed — email only).
    ConsentState { Granted = "granted", Withdrawn = "withdrawn", Refused = "refused", Expired = "expired",
    None = "none", Contactable = "contactable" }
);

impl FieldName {
    /// Whether this is a date field (`date_of_birth`, `created_at`); the others are text.
    pub fn is_date(self) -> bool {
        matches!(self, FieldName::DateOfBirth | FieldName::CreatedAt)
    }

    /// The operators this field allows.
    pub fn ops(self) -> &'static [FieldOp] {
        use FieldOp::*;
        if self.is_date() {
            &[Eq, Before, After, IsSet, IsNotSet]
        } else {
            &[Eq, Ne, StartsWith, In, IsSet, IsNotSet]
        }
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// Every child holds (intersection).
    And(Vec<Expr>),
    /// Some child holds (union).
    Or(Vec<Expr>),
    /// The child does not hold (difference from the universe).
    Not(Box<Expr>),
    /// One condition, evaluated by one fixed query.
    #[serde(untagged)]
    Leaf(Leaf),
}

/// One condition over people; each becomes one parameterised query returning person ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Leaf {
    /// A person attribute test.
    Field(FieldCond),
    /// Has this tag (opaque string).
    Tag(String),
    /// Has a record from the department with this code.
    Department(String),
    /// Took part in matching engagement.
    Engaged(EngagedCond),
    /// Journey score comparison.
    Score(ScoreCond),
    /// Current consent state for a purpose on a channel.
    Consent(ConsentCond),
}

/// `{"field": {"name", "op", "value"}}`. The parser pairs text operands only with text fields,
/// dates only with date fields (date-times only with `created_at`), lists only with `in`, and no
/// operand with `is_set` / `is_not_set`; [`FieldName::ops`] lists each field's operators.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldCond {
    /// The attribute.
    pub name: FieldName,
    /// The operator.
    pub op: FieldOp,
    /// The operand; `None` for `is_set` / `is_not_set`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<FieldValue>,
}

/// A `field` operand.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// Opaque text (≤ [`MAX_STRING_CHARS`] characters) for `eq`, `ne`, `starts_with` on text fields.
    Text(String),
    /// 1–[`MAX_IN_VALUES`] opaque texts for `in`.
    List(Vec<String>),
    /// For `eq`, `before` (strictly earlier), `after` (strictly later) on date fields.
    Date(DateValue),
}

/// A date (`YYYY-MM-DD`, a whole calendar day) or, for `created_at` only, a UTC date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DateValue {
    /// A calendar day.
    Date(NaiveDate),
    /// An instant, converted to UTC from RFC 3339.
    DateTime(NaiveDateTime),
}

impl Serialize for DateValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DateValue::Date(d) => s.collect_str(&d.format("%Y-%m-%d")),
            DateValue::DateTime(t) => s.serialize_str(&t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// `{"engaged": {…}}`: took part in engagement matching every given criterion (dates inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngagedCond {
    /// Activity kind code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Action taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Department code of the activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Public id of one activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Only the last N days (1–[`MAX_WITHIN_DAYS`]); the evaluator turns it into a cutoff. Never
    /// together with `since`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_days: Option<u32>,
    /// On or after this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
    /// On or before this day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// At least this many matching engagements (default 1).
    pub min_count: u32,
}

/// `{"score": {"name", "op", "value"}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScoreCond {
    /// Which score.
    pub name: ScoreName,
    /// Comparison.
    pub op: ScoreOp,
    /// 0–5.
    pub value: u8,
}

/// `{"consent": {"purpose", "channel", "state"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentCond {
    /// Purpose code.
    pub purpose: String,
    /// Channel.
    pub channel: Channel,
    /// Current state (default `granted`).
    pub state: ConsentState,
}

/// One problem in a filter. `path` is a JSON Pointer (RFC 6901) into the input: the offending
/// value, or for a missing required key the object lacking it (`""` is the whole document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentError {
    /// JSON Pointer.
    pub path: String,
    /// What is wrong, safe to show (echoed input is shortened).
    pub message: String,
}

impl fmt::Display for SegmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.path.is_empty() { "(root)" } else { &self.path };
        write!(f, "{at}: {}", self.message)
    }
}

impl std::error::Error for SegmentError {}

impl<'de> Deserialize<'de> for Expr {
    /// Deserialises through [`parse`]; every problem is joined into one message.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        parse(&value).map_err(|errs| {
            let all: Vec<String> = errs.iter().map(ToString::to_string).collect();
            serde::de::Error::custom(all.join("; "))
        })
    }
}

/// Parse and validate a filter, reporting every problem found (up to [`MAX_ERRORS`]).
pub fn parse(value: &Value) -> Result<Expr, Vec<SegmentError>> {
    parser::parse(value)
}

/// [`parse`] from JSON text; malformed JSON is one error at the root.
pub fn parse_str(text: &str) -> Result<Expr, Vec<SegmentError>> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => parse(&v),
        Err(e) => Err(vec![SegmentError {
            path: String::new(),
            message: format!("not valid JSON: {e}"),
        }]),
    }
}

/// The leaves of `expr`, in document order.
pub fn leaves(expr: &Expr) -> Vec<&Leaf> {
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Leaf>) {
        match e {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|c| walk(c, out)),
            Expr::Not(c) => walk(c, out),
            Expr::Leaf(l) => out.push(l),
        }
    }
    let mut out = Vec::new();
    walk(expr, &mut out);
    out
}

/// The ids of `universe` satisfying `expr`, ascending. `universe` and each answer of `leaf` (the
/// person ids of one leaf) should be sorted and deduplicated; they are made so here if they are
/// not. Linear merges: `and` is intersection, `or` union, `not` the
/// universe minus the child. `and` stops at an empty result and `or` at the whole universe, so
/// `leaf` is not always called for every leaf. The first `leaf` error is returned.
pub fn evaluate<F, E>(expr: &Expr, universe: &[i64], leaf: &mut F) -> Result<Vec<i64>, E>
where
    F: FnMut(&Leaf) -> Result<Vec<i64>, E>,
{
    let owned;
    let universe = if is_strictly_sorted(universe) {
        universe
    } else {
        owned = normalised(universe.to_vec());
        &owned
    };
    eval(expr, universe, leaf)
}

/// Invariant: `eval(e, u') == eval(e, u) ∩ u'` for `u' ⊆ u`, so `and` narrows its universe.
fn eval<F, E>(expr: &Expr, universe: &[i64], leaf: &mut F) -> Result<Vec<i64>, E>
where
    F: FnMut(&Leaf) -> Result<Vec<i64>, E>,
{
    Ok(match expr {
        Expr::Leaf(l) => intersect(universe, &normalised(leaf(l)?)),
        Expr::Not(e) => difference(universe, &eval(e, universe, leaf)?),
        Expr::And(items) => {
            let mut acc = universe.to_vec();
            for e in items {
                if acc.is_empty() {
                    break;
                }
                acc = eval(e, &acc, leaf)?;
            }
            acc
        }
        Expr::Or(items) => {
            let mut acc = Vec::new();
            for e in items {
                if acc.len() == universe.len() {
                    break;
                }
                acc = union(&acc, &eval(e, universe, leaf)?);
            }
            acc
        }
    })
}

fn is_strictly_sorted(v: &[i64]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

fn normalised(mut v: Vec<i64>) -> Vec<i64> {
    if !is_strictly_sorted(&v) {
        v.sort_unstable();
        v.dedup();
    }
    v
}

/// Linear merge of two sorted sets, keeping what `keep(in_a, in_b)` says.
fn merge(a: &[i64], b: &[i64], keep: fn(bool, bool) -> bool) -> Vec<i64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        let ord = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        let (x, in_a, in_b) = match ord {
            Ordering::Less => (a[i], true, false),
            Ordering::Greater => (b[j], false, true),
            Ordering::Equal => (a[i], true, true),
        };
        i += usize::from(in_a);
        j += usize::from(in_b);
        if keep(in_a, in_b) {
            out.push(x);
        }
    }
    out
}

fn intersect(a: &[i64], b: &[i64]) -> Vec<i64> {
    merge(a, b, |x, y| x && y)
}

fn union(a: &[i64], b: &[i64]) -> Vec<i64> {
    merge(a, b, |x, y| x || y)
}

fn difference(a: &[i64], b: &[i64]) -> Vec<i64> {
    merge(a, b, |x, y| x && !y)
}

/// The parser, in its own file to keep each file short.
#[path = "segment_parse.rs"]
mod parser;

#[cfg(test)]
#[path = "segment_tests.rs"]
mod tests;
