//! Reading a route's request and query schemas from the OpenAPI document: bodies a client would
//! send, the places in them a hostile value can go, and the hostile values for each place.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{Map, Value};

use crate::inputs::odd_text;

/// Stands for the value under test in a body until it is spliced in as raw JSON text: numbers
/// such as `1e309` have no `serde_json::Value`, and the point is to send them as written.
const HOLE: &str = "@@fuzz-hole@@";

/// One step into a JSON document.
#[derive(Clone, Debug)]
pub enum Step {
    /// An object's field.
    Key(String),
    /// An array's first item.
    Index,
}

/// The OpenAPI document's schemas, read for shapes.
pub struct Schemas<'a> {
    defs: Option<&'a Map<String, Value>>,
    /// Plausible values by field name (ids of real objects, department codes), so that bodies
    /// built from the schema get past the first check and into the handler.
    hints: &'a Map<String, Value>,
}

impl<'a> Schemas<'a> {
    /// The schemas of `doc`, with plausible values by field name.
    pub fn new(doc: &'a Value, hints: &'a Map<String, Value>) -> Self {
        Schemas {
            defs: doc["components"]["schemas"].as_object(),
            hints,
        }
    }

    /// The schema a `$ref` names, and the first alternative that is not null of an `anyOf` or
    /// `oneOf`: the shape a client would send.
    pub fn pick(&self, mut s: &'a Value) -> &'a Value {
        for _ in 0..16 {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let name = r.rsplit('/').next().unwrap_or_default();
                s = self.defs.and_then(|d| d.get(name)).unwrap_or(&Value::Null);
                continue;
            }
            let alternatives = ["anyOf", "oneOf", "allOf"]
                .iter()
                .find_map(|k| s.get(*k).and_then(Value::as_array));
            match alternatives.and_then(|a| a.iter().find(|b| b.get("type") != Some(&Value::from("null")))) {
                Some(b) => s = b,
                None => return s,
            }
        }
        s
    }

    /// The JSON type the schema asks for first (`any` when it does not say).
    pub fn kind(&self, s: &Value) -> &'a str {
        let s = self.pick(s);
        if s.get("enum").is_some() || s.get("const").is_some() {
            return "enum";
        }
        let ty = match s.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        };
        match ty {
            Some("string") => "string",
            Some("integer") => "integer",
            Some("number") => "number",
            Some("boolean") => "boolean",
            Some("array") => "array",
            Some("object") => "object",
            _ if s.get("properties").is_some() => "object",
            _ => "any",
        }
    }

    fn format(&self, s: &'a Value) -> &'a str {
        self.pick(s).get("format").and_then(Value::as_str).unwrap_or_default()
    }

    pub fn enum_values(&self, s: &'a Value) -> Vec<Value> {
        let s = self.pick(s);
        match (s.get("enum"), s.get("const")) {
            (Some(Value::Array(vs)), _) => vs.iter().filter(|v| !v.is_null()).cloned().collect(),
            (_, Some(c)) => vec![c.clone()],
            _ => Vec::new(),
        }
    }

    /// A value of the right shape, every field filled: what a well-behaved client sends.
    pub fn plausible(&self, s: &'a Value, name: &str, depth: usize) -> Value {
        let s = self.pick(s);
        if let Some(v) = self.enum_values(s).into_iter().next() {
            return v;
        }
        let kind = self.kind(s);
        if let Some(h) = self.hints.get(name).filter(|h| fits(kind, h)) {
            return h.clone();
        }
        match kind {
            "string" => match self.format(s) {
                "date" => "2026-01-10".into(),
                "date-time" => "2026-01-10T19:00:00Z".into(),
                "email" => "ada@example.org".into(),
                _ => "Ada".into(),
            },
            "integer" => 1.into(),
            "number" => 1.5.into(),
            "boolean" => true.into(),
            "array" if depth < 4 => Value::Array(vec![self.plausible(&s["items"], name, depth + 1)]),
            "object" if depth < 4 => Value::Object(
                s.get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), self.plausible(v, k, depth + 1)))
                    .collect(),
            ),
            "array" => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        }
    }

    /// Every place in `value` (built from `s`) a hostile value can go, with its schema.
    pub fn places(&self, s: &'a Value, value: &Value, at: Vec<Step>, out: &mut Vec<(Vec<Step>, &'a Value)>) {
        let s = self.pick(s);
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let child = s.get("properties").and_then(|p| p.get(k)).unwrap_or(&Value::Null);
                    let mut path = at.clone();
                    path.push(Step::Key(k.clone()));
                    out.push((path.clone(), child));
                    self.places(child, v, path, out);
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    let child = s.get("items").unwrap_or(&Value::Null);
                    let mut path = at.clone();
                    path.push(Step::Index);
                    out.push((path.clone(), child));
                    self.places(child, first, path, out);
                }
            }
            _ => {}
        }
    }

    /// Hostile values, as raw JSON text, for a field of schema `s`: every wrong type, the
    /// extremes of its own type that matter most, and a seeded sample of the others.
    pub fn hostile(&self, s: &'a Value, rng: &mut StdRng, sample: usize) -> Vec<String> {
        let mut out: Vec<String> = WRONG_TYPES.iter().map(|t| t.to_string()).collect();
        let mut extremes: Vec<String> = match self.kind(s) {
            "string" => strings(self.format(s), rng),
            "integer" | "number" => NUMBERS.iter().map(|t| t.to_string()).collect(),
            "enum" => self
                .enum_values(s)
                .iter()
                .filter_map(Value::as_str)
                .flat_map(|v| [v.to_uppercase(), format!(" {v}"), format!("{v}\u{0}")])
                .map(|v| Value::from(v).to_string())
                .collect(),
            "array" => {
                let item = self.plausible(&self.pick(s)["items"], "", 1).to_string();
                vec![
                    format!("[{}]", vec![item; 2000].join(",")),
                    "[[]]".into(),
                    "[null]".into(),
                ]
            }
            _ => deep_values(),
        };
        let mut others = extremes.split_off(ALWAYS.min(extremes.len()));
        others.shuffle(rng);
        others.truncate(sample);
        out.extend(extremes);
        out.extend(others);
        out.push(deep(10_000));
        out
    }

    /// A random body of schema `s`: plausible in shape, with hostile values at random places.
    pub fn random(&self, s: &'a Value, name: &str, rng: &mut StdRng, depth: usize) -> String {
        if rng.gen_bool(0.15) || depth > 5 {
            return self.hostile(s, rng, 4).choose(rng).cloned().unwrap_or_default();
        }
        let s = self.pick(s);
        match self.kind(s) {
            "object" => {
                let mut fields = Vec::new();
                for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    if rng.gen_bool(0.7) {
                        fields.push(format!(
                            "{}:{}",
                            Value::from(k.as_str()),
                            self.random(v, k, rng, depth + 1)
                        ));
                    }
                }
                format!("{{{}}}", fields.join(","))
            }
            "array" => {
                let items: Vec<String> = (0..rng.gen_range(0..4))
                    .map(|_| self.random(&s["items"], name, rng, depth + 1))
                    .collect();
                format!("[{}]", items.join(","))
            }
            "string" if rng.gen_bool(0.5) => Value::from(odd_text(rng)).to_string(),
            _ => self.plausible(s, name, depth).to_string(),
        }
    }
}

/// Whether a hint has the JSON type a schema of `kind` asks for (null always fits: the hints
/// use it to leave an optional field out).
fn fits(kind: &str, hint: &Value) -> bool {
    match hint {
        Value::Null => true,
        Value::String(_) => kind == "string" || kind == "any",
        Value::Number(_) => matches!(kind, "integer" | "number" | "any"),
        Value::Array(_) => kind == "array" || kind == "any",
        Value::Object(_) => kind == "object" || kind == "any",
        Value::Bool(_) => kind == "boolean" || kind == "any",
    }
}

/// `base` with the value at `path` replaced by the raw JSON text `raw`.
pub fn splice(base: &Value, path: &[Step], raw: &str) -> String {
    let mut doc = base.clone();
    let mut at = &mut doc;
    for step in path {
        at = match step {
            Step::Key(k) => &mut at[k.as_str()],
            Step::Index => &mut at[0],
        };
    }
    *at = Value::from(HOLE);
    doc.to_string().replacen(&Value::from(HOLE).to_string(), raw, 1)
}

/// `base` without the field at `path`.
pub fn without(base: &Value, path: &[Step]) -> String {
    let mut doc = base.clone();
    let Some((Step::Key(last), parents)) = path.split_last() else {
        return doc.to_string();
    };
    let mut at = &mut doc;
    for step in parents {
        at = match step {
            Step::Key(k) => &mut at[k.as_str()],
            Step::Index => &mut at[0],
        };
    }
    if let Some(map) = at.as_object_mut() {
        map.remove(last);
    }
    doc.to_string()
}

/// How many of a type's extremes (the first ones listed) every field is given.
const ALWAYS: usize = 5;

/// A JSON value of every type.
const WRONG_TYPES: &[&str] = &["null", "true", "\"x\"", "1", "[]", "{}", "[null]", "{\"\":\"\"}"];

/// Numbers at and past every limit, written as a client would write them (the first
/// [`ALWAYS`] go to every numeric field).
pub const NUMBERS: &[&str] = &[
    "1e309",
    "-9223372036854775809",
    "9223372036854775807",
    "-1",
    "-1e309",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551616",
    "4294967296",
    "2147483648",
    "0",
    "-0",
    "1.5",
    "1e-400",
    "123456789012345678901234567890",
];

/// Strings at the edges: long, empty, odd characters, and dates that are not (the first
/// [`ALWAYS`] go to every string field).
fn strings(format: &str, rng: &mut StdRng) -> Vec<String> {
    let mut texts: Vec<String> = vec![
        "x".repeat(100_000),
        String::new(),
        "a\u{0}b".into(),
        "é".repeat(5_000),
        "%_\\".into(),
        "   ".into(),
        "\u{1}\u{1f}\u{7f}".into(),
        format!("e{}", "\u{301}".repeat(2_000)),
        "'; DROP TABLE people; --".into(),
        "{{ unsubscribe_url }}{% raw %}".into(),
        "a@".to_string() + &"x".repeat(300) + ".com",
        "0000-01-01".into(),
        "9999-12-31T23:59:59Z".into(),
        "+275760-09-13T00:00:00Z".into(),
        "-000001-01-01T00:00:00Z".into(),
        "2024-02-30".into(),
        "2024-01-01T24:00:00Z".into(),
        "1970-01-01T00:00:00+25:00".into(),
        odd_text(rng),
        odd_text(rng),
    ];
    if format.starts_with("date") {
        texts.extend(["notadate", "2024-13-01", "20240101", "1e309", "2024-01-01T00:00:00"].map(String::from));
    }
    let mut out: Vec<String> = texts.into_iter().map(|t| Value::from(t).to_string()).collect();
    // Escapes no Rust string holds: a lone surrogate and a surrogate pair written in halves.
    out.push("\"\\ud800\"".into());
    out.push("\"\\udfff\\ud800\"".into());
    out
}

/// Values for fields that take any JSON (filters, definitions): nested as far as a parser lets.
fn deep_values() -> Vec<String> {
    let nest = |open: &str, close: &str, n: usize| format!("{}1{}", open.repeat(n), close.repeat(n));
    vec![
        nest("{\"not\":", "}", 120),
        nest("{\"and\":[", "]}", 60),
        nest("{\"or\":[{\"tag\":\"x\"},", "]}", 60),
        nest("[", "]", 127),
        nest("{\"a\":", "}", 127),
        "{\"tag\":{\"tag\":[]}}".into(),
    ]
}

/// Arrays nested `n` deep.
pub fn deep(n: usize) -> String {
    format!("{}{}", "[".repeat(n), "]".repeat(n))
}
