//! Tests of the journeys core: each analytic against a hand-computed example, suppression,
//! privacy, rendering, properties, and an ignored timing run.
//!
//! Policy: hand examples run with `min_count = 0` (no suppression) so the raw numbers can be
//! checked; suppression has its own tests. Person ids in fixtures are large (987654321 + n) so a
//! leak would be visible in any rendering.

mod analytics;
mod cohorts_paths;
mod perf;
mod privacy;
mod props;
mod reach_scores;
mod render;
mod suppression;

use chrono::{NaiveDate, NaiveDateTime};

use super::{Count, EventRow, Options};

/// Base of fixture person ids.
pub(super) const PERSON: i64 = 987_654_321;

/// `YYYY-MM-DD HH:MM` → time (the epoch on a malformed literal, which would fail the test).
pub(super) fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap_or_default()
}

/// A fixture event for person `PERSON + n`.
pub(super) fn ev(n: i64, when: &str, kind: &str, action: &str, dept: &str, activity: i64) -> EventRow {
    EventRow {
        person: PERSON + n,
        at: at(when),
        kind: kind.to_string(),
        action: action.to_string(),
        department: dept.to_string(),
        activity,
    }
}

/// Options at `now` with threshold `k`.
pub(super) fn opts(now: &str, k: u64) -> Options {
    Options {
        min_count: k,
        ..Options::new(at(now))
    }
}

/// A midday timestamp on a date (for generated data).
pub(super) fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap_or_default()
}

/// Shorthand for an exact count.
pub(super) fn n(v: u64) -> Count {
    Count::Exact(v)
}

/// A minimal XML well-formedness check for our SVG: balanced, properly nested tags, quoted
/// attributes, no stray `<` or `&` in text, a single root. Returns the problem, if any.
pub(super) fn xml_problem(doc: &str) -> Option<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = doc;
    let mut roots = 0;
    while let Some(open) = rest.find('<') {
        if let Some(p) = text_problem(&rest[..open]) {
            return Some(p);
        }
        let Some(close) = rest[open..].find('>') else {
            return Some("unclosed tag".into());
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return Some(format!("mismatched </{name}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':') {
            return Some(format!("bad tag name in <{tag}>"));
        }
        if body[name.len()..].matches('"').count() % 2 != 0 || body.contains('<') {
            return Some(format!("bad attributes in <{tag}>"));
        }
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name);
        }
    }
    if let Some(p) = text_problem(rest) {
        return Some(p);
    }
    match (stack.is_empty(), roots) {
        (true, 1) => None,
        (false, _) => Some(format!("unclosed {stack:?}")),
        _ => Some(format!("{roots} roots")),
    }
}

fn text_problem(text: &str) -> Option<String> {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| entity.starts_with(e));
        if !ok {
            return Some(format!("bad entity near {:?}", &entity[..entity.len().min(12)]));
        }
    }
    if text.contains('>') {
        return Some("raw > in text".into());
    }
    None
}

#[test]
fn xml_checker_catches_problems() {
    assert_eq!(xml_problem("<svg><title>a &amp; b</title></svg>"), None);
    assert!(xml_problem("<svg><title>a & b</title></svg>").is_some());
    assert!(xml_problem("<svg><g></svg>").is_some());
    assert!(xml_problem("<svg></svg><svg></svg>").is_some());
    assert!(xml_problem("<svg a=\"x></svg>").is_some());
}
