//! The parser of the segment filter DSL: walks a `serde_json::Value`, collecting every problem
//! with its JSON Pointer. Policy and grammar: see the parent module.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::*;

/// Entry point of [`super::parse`].
pub(super) fn parse(value: &Value) -> Result<Expr, Vec<SegmentError>> {
    let mut p = Parser {
        errors: Vec::new(),
        nodes: 0,
    };
    match p.expr(value, "", 1) {
        Some(e) if p.errors.is_empty() => Ok(e),
        _ if p.errors.is_empty() => Err(vec![error("", "invalid filter")]),
        _ => Err(p.errors),
    }
}

fn error(path: &str, message: impl Into<String>) -> SegmentError {
    SegmentError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// `path` extended by one key or index, escaped per RFC 6901.
fn at(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// User text for a message: quoted, escaped, at most 40 characters.
fn quote(s: &str) -> String {
    let short: String = s.chars().take(40).collect();
    let more = if short.len() < s.len() { "…" } else { "" };
    format!("{short:?}{more}")
}

fn one_of<T: Grammar>(items: &[T]) -> String {
    items.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
}

/// Strict `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = s.get(from..to)?;
        part.bytes()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    if s.len() != 10 || s.get(4..5) != Some("-") || s.get(7..8) != Some("-") {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)
}

/// Shapes of codes, as the services that create them check.
#[derive(Clone, Copy)]
enum Code {
    Department,
    Purpose,
    Kind,
    PublicId,
}

impl Code {
    fn check(self, s: &str) -> bool {
        let (min, max, ok): (usize, usize, fn(u8) -> bool) = match self {
            Code::Department => (2, 16, |b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
            }),
            Code::Purpose => (2, 40, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            Code::Kind => (2, 30, |b| b.is_ascii_lowercase() || b == b'_'),
            Code::PublicId => (32, 32, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        };
        (min..=max).contains(&s.len()) && s.bytes().all(ok)
    }

    fn hint(self) -> &'static str {
        match self {
            Code::Department => "a department code: 2–16 capital letters, digits, '_' or '-'",
            Code::Purpose => "a purpose code: 2–40 lower-case letters, digits or '_'",
            Code::Kind => "an activity kind code: 2–30 lower-case letters or '_'",
            Code::PublicId => "an activity public id: 32 lower-case hex digits",
        }
    }
}

struct Parser {
    errors: Vec<SegmentError>,
    nodes: usize,
}

type Obj = Map<String, Value>;

impl Parser {
    fn err(&mut self, path: &str, message: impl Into<String>) {
        match self.errors.len().cmp(&MAX_ERRORS) {
            Ordering::Less => self.errors.push(error(path, message)),
            Ordering::Equal => self
                .errors
                .push(error("", format!("more than {MAX_ERRORS} problems; stopped"))),
            Ordering::Greater => {}
        }
    }

    fn expr(&mut self, v: &Value, path: &str, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            self.err(path, format!("nested more than {MAX_DEPTH} levels deep"));
            return None;
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            if self.nodes == MAX_NODES + 1 {
                self.err(path, format!("more than {MAX_NODES} expressions in one filter"));
            }
            return None;
        }
        let expected = EXPR_KEYS.join(", ");
        let Some(obj) = v.as_object() else {
            self.err(path, format!("expected an object with one key, one of: {expected}"));
            return None;
        };
        let mut known = Vec::new();
        for (key, inner) in obj {
            match EXPR_KEYS.iter().find(|k| **k == key.as_str()) {
                Some(k) => known.push((*k, inner)),
                None => self.err(
                    &at(path, key),
                    format!("unknown key {}; expected one of: {expected}", quote(key)),
                ),
            }
        }
        match known[..] {
            [(key, inner)] => self.node(key, inner, &at(path, key), depth),
            [] if obj.is_empty() => {
                self.err(path, format!("empty object; expected one of: {expected}"));
                None
            }
            [] => None,
            _ => {
                let keys: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
                self.err(path, format!("expected exactly one key, found {}", keys.join(", ")));
                None
            }
        }
    }

    fn node(&mut self, key: &str, v: &Value, path: &str, depth: usize) -> Option<Expr> {
        let leaf = match key {
            "and" | "or" => {
                let Some(items) = v.as_array() else {
                    self.err(path, "expected an array of expressions");
                    return None;
                };
                if items.is_empty() || items.len() > MAX_CHILDREN {
                    let n = items.len();
                    self.err(path, format!("'{key}' takes 1–{MAX_CHILDREN} expressions, found {n}"));
                }
                let mut out = Vec::with_capacity(items.len().min(MAX_CHILDREN));
                for (i, item) in items.iter().enumerate() {
                    out.extend(self.expr(item, &at(path, &i.to_string()), depth + 1));
                }
                return Some(if key == "and" { Expr::And(out) } else { Expr::Or(out) });
            }
            "not" => return self.expr(v, path, depth + 1).map(|e| Expr::Not(Box::new(e))),
            "tag" => Leaf::Tag(self.text(v, path)?),
            "department" => Leaf::Department(self.code(v, path, Code::Department)?),
            "field" => Leaf::Field(self.field(v, path)?),
            "engaged" => Leaf::Engaged(self.engaged(v, path)?),
            "score" => Leaf::Score(self.score(v, path)?),
            // Only keys of EXPR_KEYS reach here.
            _ => Leaf::Consent(self.consent(v, path)?),
        };
        Some(Expr::Leaf(leaf))
    }

    /// An object whose keys are all in `allowed` (unknown ones are reported, not fatal).
    fn object<'v>(&mut self, v: &'v Value, path: &str, allowed: &[&str]) -> Option<&'v Obj> {
        let Some(obj) = v.as_object() else {
            self.err(path, format!("expected an object with keys: {}", allowed.join(", ")));
            return None;
        };
        for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let msg = format!("unknown key {}; expected one of: {}", quote(key), allowed.join(", "));
            self.err(&at(path, key), msg);
        }
        Some(obj)
    }

    /// An optional key: `Some(None)` when absent or null, `None` when invalid.
    fn opt<T>(
        &mut self,
        obj: &Obj,
        path: &str,
        key: &str,
        f: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<Option<T>> {
        match obj.get(key).filter(|v| !v.is_null()) {
            None => Some(None),
            Some(v) => f(self, v, &at(path, key)).map(Some),
        }
    }

    /// A required key: a missing one is reported at `path`.
    fn req<T>(
        &mut self,
        obj: &Obj,
        path: &str,
        key: &str,
        f: impl FnOnce(&mut Self, &Value, &str) -> Option<T>,
    ) -> Option<T> {
        match obj.get(key) {
            None => {
                self.err(path, format!("missing required key '{key}'"));
                None
            }
            Some(v) => f(self, v, &at(path, key)),
        }
    }

    fn pick<T: Grammar>(&mut self, v: &Value, path: &str, what: &str) -> Option<T> {
        let found = v
            .as_str()
            .and_then(|s| T::all().iter().copied().find(|t| t.name() == s));
        if found.is_none() {
            let all = one_of(T::all());
            let msg = match v.as_str() {
                Some(s) => format!("unknown {what} {}; expected one of: {all}", quote(s)),
                None => format!("expected a string naming the {what}, one of: {all}"),
            };
            self.err(path, msg);
        }
        found
    }

    fn text(&mut self, v: &Value, path: &str) -> Option<String> {
        let problem = match v.as_str() {
            None => "expected a string".to_string(),
            Some("") => "must not be empty".to_string(),
            Some(s) if s.chars().count() > MAX_STRING_CHARS => {
                format!("longer than the {MAX_STRING_CHARS}-character limit")
            }
            Some(s) if s.chars().any(char::is_control) => "must not contain control characters".to_string(),
            Some(s) => return Some(s.to_string()),
        };
        self.err(path, problem);
        None
    }

    fn code(&mut self, v: &Value, path: &str, code: Code) -> Option<String> {
        match v.as_str() {
            Some(s) if code.check(s) => Some(s.to_string()),
            _ => {
                self.err(path, format!("expected {}", code.hint()));
                None
            }
        }
    }

    fn int<T: TryFrom<u64>>(&mut self, v: &Value, path: &str, min: u64, max: u64) -> Option<T> {
        let n = v
            .as_u64()
            .filter(|n| (min..=max).contains(n))
            .and_then(|n| T::try_from(n).ok());
        if n.is_none() {
            self.err(path, format!("expected a whole number from {min} to {max}"));
        }
        n
    }

    fn date(&mut self, v: &Value, path: &str) -> Option<NaiveDate> {
        let d = v.as_str().and_then(parse_date);
        if d.is_none() {
            self.err(path, "expected a valid date as YYYY-MM-DD");
        }
        d
    }

    fn date_value(&mut self, v: &Value, path: &str, name: FieldName) -> Option<DateValue> {
        if name != FieldName::CreatedAt {
            return self.date(v, path).map(DateValue::Date);
        }
        let s = v.as_str().unwrap_or("");
        let d = parse_date(s).map(DateValue::Date).or_else(|| {
            let t = DateTime::parse_from_rfc3339(s).ok()?.naive_utc();
            // Held to the years every client time is (both backends order them alike).
            crate::normalize::bounded_time::YEARS
                .contains(&chrono::Datelike::year(&t))
                .then_some(DateValue::DateTime(t))
        });
        if d.is_none() {
            self.err(path, "expected a valid date as YYYY-MM-DD or an RFC 3339 date-time");
        }
        d
    }

    fn text_list(&mut self, v: &Value, path: &str) -> Option<Vec<String>> {
        let items = match v.as_array() {
            Some(items) if !items.is_empty() && items.len() <= MAX_IN_VALUES => items,
            _ => {
                self.err(path, format!("expected an array of 1–{MAX_IN_VALUES} strings"));
                return None;
            }
        };
        let out: Vec<Option<String>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.text(item, &at(path, &i.to_string())))
            .collect();
        out.into_iter().collect()
    }

    fn field(&mut self, v: &Value, path: &str) -> Option<FieldCond> {
        let obj = self.object(v, path, &["name", "op", "value"])?;
        let name = self.req(obj, path, "name", |p, v, at| p.pick::<FieldName>(v, at, "field"));
        let op = self.req(obj, path, "op", |p, v, at| p.pick::<FieldOp>(v, at, "op"));
        let (name, op) = (name?, op?);
        if !name.ops().contains(&op) {
            let kind = if name.is_date() { "date" } else { "text" };
            let msg = format!(
                "op '{}' does not apply to {kind} field '{}'; use one of: {}",
                op.as_str(),
                name.as_str(),
                one_of(name.ops())
            );
            self.err(&at(path, "op"), msg);
            return None;
        }
        let vp = at(path, "value");
        let value = match (op, obj.get("value").filter(|v| !v.is_null())) {
            (FieldOp::IsSet | FieldOp::IsNotSet, None) => None,
            (FieldOp::IsSet | FieldOp::IsNotSet, Some(_)) => {
                self.err(&vp, format!("'{}' takes no value", op.as_str()));
                return None;
            }
            (_, None) => {
                self.err(path, format!("missing required key 'value' for op '{}'", op.as_str()));
                return None;
            }
            (FieldOp::In, Some(v)) => Some(FieldValue::List(self.text_list(v, &vp)?)),
            (_, Some(v)) if name.is_date() => Some(FieldValue::Date(self.date_value(v, &vp, name)?)),
            (_, Some(v)) => Some(FieldValue::Text(self.text(v, &vp)?)),
        };
        Some(FieldCond { name, op, value })
    }

    fn engaged(&mut self, v: &Value, path: &str) -> Option<EngagedCond> {
        const KEYS: &[&str] = &[
            "kind",
            "action",
            "department",
            "activity",
            "within_days",
            "since",
            "until",
            "min_count",
        ];
        let obj = self.object(v, path, KEYS)?;
        let kind = self.opt(obj, path, "kind", |p, v, at| p.code(v, at, Code::Kind));
        let action = self.opt(obj, path, "action", |p, v, at| p.pick::<Action>(v, at, "action"));
        let department = self.opt(obj, path, "department", |p, v, at| p.code(v, at, Code::Department));
        let activity = self.opt(obj, path, "activity", |p, v, at| p.code(v, at, Code::PublicId));
        let max_days = u64::from(MAX_WITHIN_DAYS);
        let within_days = self.opt(obj, path, "within_days", |p, v, at| p.int::<u32>(v, at, 1, max_days));
        let since = self.opt(obj, path, "since", |p, v, at| p.date(v, at));
        let until = self.opt(obj, path, "until", |p, v, at| p.date(v, at));
        let max_count = u64::from(MAX_MIN_COUNT);
        let min_count = self.opt(obj, path, "min_count", |p, v, at| p.int::<u32>(v, at, 1, max_count));
        let cond = EngagedCond {
            kind: kind?,
            action: action?,
            department: department?,
            activity: activity?,
            within_days: within_days?,
            since: since?,
            until: until?,
            min_count: min_count?.unwrap_or(1),
        };
        if cond.within_days.is_some() && cond.since.is_some() {
            self.err(&at(path, "within_days"), "cannot be combined with 'since'");
            return None;
        }
        if let (Some(since), Some(until)) = (cond.since, cond.until) {
            if until < since {
                self.err(&at(path, "until"), "is before 'since'");
                return None;
            }
        }
        Some(cond)
    }

    fn score(&mut self, v: &Value, path: &str) -> Option<ScoreCond> {
        let obj = self.object(v, path, &["name", "op", "value"])?;
        let name = self.req(obj, path, "name", |p, v, at| p.pick::<ScoreName>(v, at, "score"));
        let op = self.req(obj, path, "op", |p, v, at| p.pick::<ScoreOp>(v, at, "op"));
        let value = self.req(obj, path, "value", |p, v, at| p.int::<u8>(v, at, 0, 5));
        Some(ScoreCond {
            name: name?,
            op: op?,
            value: value?,
        })
    }

    fn consent(&mut self, v: &Value, path: &str) -> Option<ConsentCond> {
        let obj = self.object(v, path, &["purpose", "channel", "state"])?;
        let purpose = self.req(obj, path, "purpose", |p, v, at| p.code(v, at, Code::Purpose));
        let channel = self.req(obj, path, "channel", |p, v, at| p.pick::<Channel>(v, at, "channel"));
        let state = self.opt(obj, path, "state", |p, v, at| p.pick::<ConsentState>(v, at, "state"));
        let (channel, state) = (channel?, state?.unwrap_or(ConsentState::Granted));
        if state == ConsentState::Contactable && channel != Channel::Email {
            self.err(
                &format!("{path}/state"),
                "`contactable` is decided for the email channel only.",
            );
            return None;
        }
        Some(ConsentCond {
            purpose: purpose?,
            channel,
            state,
        })
    }
}
