//! Published counts: a number, or a marker when the number is hidden.
//!
//! Policy: a count of people below the threshold *k* (`Options::min_count`, default 5) — zero
//! included — is *primary-suppressed* and published as the string `"<k"` (e.g. `"<5"`). A count
//! hidden only so that a small one cannot be worked out from totals (*complementary
//! suppression*, see `audit.rs`) is at least *k* and is published as `"hidden"`. Medians, shares
//! and rates are published only when every count they are computed from is published.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};

/// A count of people as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Count {
    /// The exact number (at least *k*).
    Exact(u64),
    /// Fewer than *k* people (the payload is *k*); serialised as `"<k"`.
    Below(u64),
    /// At least *k*, hidden so a small count elsewhere cannot be derived; serialised `"hidden"`.
    Hidden,
}

/// The marker of complementary suppression.
pub const HIDDEN: &str = "hidden";

impl Count {
    /// Publish `value` under threshold `k`, given whether it must be hidden.
    pub fn publish(value: u64, k: u64, hidden: bool) -> Count {
        if value < k {
            Count::Below(k)
        } else if hidden {
            Count::Hidden
        } else {
            Count::Exact(value)
        }
    }

    /// The number, if published.
    pub fn exact(&self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(*n),
            _ => None,
        }
    }

    /// The text shown in CSV cells and charts: `"123"`, `"<5"` or `"hidden"`.
    pub fn label(&self) -> String {
        match self {
            Count::Exact(n) => n.to_string(),
            Count::Below(k) => format!("<{k}"),
            Count::Hidden => HIDDEN.to_string(),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => s.serialize_u64(*n),
            Count::Below(k) => s.collect_str(&format_args!("<{k}")),
            Count::Hidden => s.serialize_str(HIDDEN),
        }
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "SuppressedCount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let value = serde_json::json!({
            "description": "A count of people: a number, \"<k\" when fewer than k people (k is the \
                small-count threshold, normally 5), or \"hidden\" when at least k but withheld so \
                that a small count cannot be derived from the totals.",
            "oneOf": [
                {"type": "integer", "format": "uint64", "minimum": 0},
                {"type": "string", "pattern": "^(<[0-9]+|hidden)$"}
            ]
        });
        match value {
            serde_json::Value::Object(map) => Schema::from(map),
            _ => Schema::default(),
        }
    }
}

/// `part / whole` as a percentage with one decimal, only when both counts are published.
pub(crate) fn percent(part: Count, whole: Count) -> Option<f64> {
    match (part.exact(), whole.exact()) {
        (Some(p), Some(w)) if w > 0 => Some(round1(p as f64 * 100.0 / w as f64)),
        _ => None,
    }
}

/// Round to one decimal place.
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
