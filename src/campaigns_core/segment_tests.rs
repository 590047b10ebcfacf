use std::convert::Infallible;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

const EVIL: &str = "x'; DROP TABLE people;--";

/// One rejected filter per line: `pointer | part of the only message | filter` (`-`: the root).
const REJECTED: &str = r#"
- | expected an object | []
- | expected an object | "tag"
- | expected an object | null
- | exactly one key | {"tag": "a", "department": "CS"}
- | empty object | {}
/foo | unknown key | {"foo": 1}
/a~1b~0c | unknown key | {"a/b~c": 1}
/and/1/not/bogus | unknown key | {"and": [{"tag": "a"}, {"not": {"bogus": {}}}]}
/score/extra | unknown key | {"score": {"name": "recency", "op": "eq", "value": 1, "extra": 1}}
/engaged/when | unknown key | {"engaged": {"when": "now"}}
/and | found 0 | {"and": []}
/or | found 0 | {"or": []}
/and | array of expressions | {"and": {"tag": "a"}}
/field/name | unknown field | {"field": {"name": "shoe_size", "op": "eq", "value": "9"}}
/field/op | unknown op | {"field": {"name": "postcode", "op": "like", "value": "9"}}
/field/op | does not apply to text field | {"field": {"name": "postcode", "op": "before", "value": "2020-01-01"}}
/field/op | does not apply to date field | {"field": {"name": "date_of_birth", "op": "starts_with", "value": "19"}}
/field/op | does not apply to date field | {"field": {"name": "created_at", "op": "in", "value": ["2020-01-01"]}}
/field | missing required key 'value' | {"field": {"name": "postcode", "op": "eq"}}
/field | missing required key 'name' | {"field": {"op": "eq", "value": "x"}}
/field/value | takes no value | {"field": {"name": "postcode", "op": "is_set", "value": "x"}}
/field/value | array of 1–1000 | {"field": {"name": "postcode", "op": "in", "value": []}}
/field/value | array of 1–1000 | {"field": {"name": "postcode", "op": "in", "value": "SW1"}}
/field/value/1 | expected a string | {"field": {"name": "postcode", "op": "in", "value": ["a", 2]}}
/field/value | expected a string | {"field": {"name": "postcode", "op": "eq", "value": 7}}
/field/value | empty | {"field": {"name": "postcode", "op": "eq", "value": ""}}
/field/value | control | {"field": {"name": "postcode", "op": "eq", "value": "a\u0000b"}}
/field/value | YYYY-MM-DD | {"field": {"name": "date_of_birth", "op": "eq", "value": "2024-02-30"}}
/field/value | YYYY-MM-DD | {"field": {"name": "date_of_birth", "op": "after", "value": "01/02/2024"}}
/field/value | YYYY-MM-DD | {"field": {"name": "date_of_birth", "op": "eq", "value": "+2024-01-01"}}
/field/value | YYYY-MM-DD | {"field": {"name": "date_of_birth", "op": "eq", "value": "1990-01-01T00:00:00Z"}}
/field/value | RFC 3339 | {"field": {"name": "created_at", "op": "before", "value": "yesterday"}}
/field/value | RFC 3339 | {"field": {"name": "created_at", "op": "after", "value": "2024-01-01T25:00:00Z"}}
/field/value | RFC 3339 | {"field": {"name": "created_at", "op": "after", "value": "9999-12-31T23:59:59-01:00"}}
/field/value | RFC 3339 | {"field": {"name": "created_at", "op": "after", "value": "1899-12-31T23:00:00Z"}}
/engaged/since | YYYY-MM-DD | {"engaged": {"since": "01/02/2024"}}
/engaged/until | before 'since' | {"engaged": {"since": "2024-02-01", "until": "2024-01-31"}}
/and/1/not/engaged/within_days | since | {"and": [{"tag": "a"}, {"not": {"engaged": {"within_days": 365, "since": "2024-01-01"}}}]}
/engaged/within_days | 1 to 3650 | {"engaged": {"within_days": 0}}
/engaged/within_days | 1 to 3650 | {"engaged": {"within_days": 3651}}
/engaged/min_count | 1 to 10000 | {"engaged": {"min_count": 0}}
/engaged/action | unknown action | {"engaged": {"action": "attend"}}
/score/value | 0 to 5 | {"score": {"name": "recency", "op": "gte", "value": 6}}
/score/value | 0 to 5 | {"score": {"name": "recency", "op": "gte", "value": 2.5}}
/score/value | 0 to 5 | {"score": {"name": "recency", "op": "gte", "value": "3"}}
/score/name | unknown score | {"score": {"name": "loyalty", "op": "gte", "value": 1}}
/score | missing required key 'op' | {"score": {"name": "recency", "value": 1}}
/consent/channel | unknown channel | {"consent": {"purpose": "news", "channel": "fax"}}
/consent/state | unknown state | {"consent": {"purpose": "news", "channel": "post", "state": "yes"}}
/consent | missing required key 'purpose' | {"consent": {"channel": "post"}}
/consent/state | email channel only | {"consent": {"purpose": "news", "channel": "sms", "state": "contactable"}}
/department | department code | {"department": "cs"}
# SQL-looking text where a code, an enum or a key is expected
/department | department code | {"department": "x'; DROP TABLE people;--"}
/consent/purpose | purpose code | {"consent": {"purpose": "x'; DROP TABLE people;--", "channel": "email"}}
/consent/channel | unknown channel | {"consent": {"purpose": "news", "channel": "x'; DROP TABLE people;--"}}
/engaged/kind | activity kind code | {"engaged": {"kind": "x'; DROP TABLE people;--"}}
/engaged/department | department code | {"engaged": {"department": "x'; DROP TABLE people;--"}}
/engaged/activity | public id | {"engaged": {"activity": "x'; DROP TABLE people;--"}}
/engaged/action | unknown action | {"engaged": {"action": "x'; DROP TABLE people;--"}}
/field/name | unknown field | {"field": {"name": "x'; DROP TABLE people;--", "op": "eq", "value": "a"}}
/field/op | unknown op | {"field": {"name": "postcode", "op": "x'; DROP TABLE people;--", "value": "a"}}
/score/name | unknown score | {"score": {"name": "x'; DROP TABLE people;--", "op": "eq", "value": 1}}
/x'; DROP TABLE people;-- | unknown key | {"x'; DROP TABLE people;--": {"tag": "a"}}
"#;

/// One accepted leaf per line: `filter => Debug of the parsed leaf`.
const ACCEPTED: &str = r#"
{"tag": "volunteer"} => Tag("volunteer")
{"consent": {"purpose": "news", "channel": "email", "state": "contactable"}} => Consent(ConsentCond { purpose: "news", channel: Email, state: Contactable })
{"department": "CULTURE_1"} => Department("CULTURE_1")
{"field": {"name": "postcode", "op": "eq", "value": "SW1A 1AA"}} => Field(FieldCond { name: Postcode, op: Eq, value: Some(Text("SW1A 1AA")) })
{"field": {"name": "email_domain", "op": "ne", "value": "x.org"}} => Field(FieldCond { name: EmailDomain, op: Ne, value: Some(Text("x.org")) })
{"field": {"name": "family_name", "op": "starts_with", "value": "Ó"}} => Field(FieldCond { name: FamilyName, op: StartsWith, value: Some(Text("Ó")) })
{"field": {"name": "postcode_district", "op": "in", "value": ["SW1", "E1"]}} => Field(FieldCond { name: PostcodeDistrict, op: In, value: Some(List(["SW1", "E1"])) })
{"field": {"name": "organisation", "op": "is_set"}} => Field(FieldCond { name: Organisation, op: IsSet, value: None })
{"field": {"name": "given_name", "op": "is_not_set", "value": null}} => Field(FieldCond { name: GivenName, op: IsNotSet, value: None })
{"field": {"name": "date_of_birth", "op": "before", "value": "2000-02-29"}} => Field(FieldCond { name: DateOfBirth, op: Before, value: Some(Date(Date(2000-02-29))) })
{"field": {"name": "created_at", "op": "eq", "value": "2024-01-01"}} => Field(FieldCond { name: CreatedAt, op: Eq, value: Some(Date(Date(2024-01-01))) })
{"field": {"name": "created_at", "op": "after", "value": "2024-01-01T10:30:00+01:00"}} => Field(FieldCond { name: CreatedAt, op: After, value: Some(Date(DateTime(2024-01-01T09:30:00))) })
{"engaged": {}} => Engaged(EngagedCond { kind: None, action: None, department: None, activity: None, within_days: None, since: None, until: None, min_count: 1 })
{"engaged": {"kind": "banquet", "action": "no_show", "department": "CS", "activity": "0123456789abcdef0123456789abcdef", "since": "2024-01-01", "until": "2024-12-31", "min_count": 3}} => Engaged(EngagedCond { kind: Some("banquet"), action: Some(NoShow), department: Some("CS"), activity: Some("0123456789abcdef0123456789abcdef"), within_days: None, since: Some(2024-01-01), until: Some(2024-12-31), min_count: 3 })
{"engaged": {"within_days": 3650, "until": "2024-01-01", "since": null}} => Engaged(EngagedCond { kind: None, action: None, department: None, activity: None, within_days: Some(3650), since: None, until: Some(2024-01-01), min_count: 1 })
{"score": {"name": "breadth", "op": "gte", "value": 0}} => Score(ScoreCond { name: Breadth, op: Gte, value: 0 })
{"score": {"name": "recency", "op": "eq", "value": 5}} => Score(ScoreCond { name: Recency, op: Eq, value: 5 })
{"consent": {"purpose": "news_2", "channel": "sms"}} => Consent(ConsentCond { purpose: "news_2", channel: Sms, state: Granted })
{"consent": {"purpose": "news_2", "channel": "phone", "state": "none"}} => Consent(ConsentCond { purpose: "news_2", channel: Phone, state: None })
"#;

/// Filters whose free text is SQL-looking: accepted, kept verbatim, canonical as written.
const OPAQUE: &str = r#"
{"tag": "x'; DROP TABLE people;--"}
{"field": {"name": "given_name", "op": "eq", "value": "x'; DROP TABLE people;--"}}
{"field": {"name": "family_name", "op": "starts_with", "value": "x'; DROP TABLE people;--"}}
{"field": {"name": "organisation", "op": "in", "value": ["a", "x'; DROP TABLE people;--"]}}
{"not": {"field": {"name": "email_domain", "op": "ne", "value": "x'; DROP TABLE people;--"}}}
"#;

fn rows(table: &str) -> impl Iterator<Item = &str> {
    table.lines().filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn ok(v: Value) -> Expr {
    parse(&v).unwrap_or_else(|e| panic!("{v} should parse: {e:?}"))
}

fn errs(v: Value) -> Vec<SegmentError> {
    parse(&v).expect_err("should be rejected")
}

fn tag(name: &str) -> Expr {
    Expr::Leaf(Leaf::Tag(name.to_string()))
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

fn round_trips(e: &Expr) -> bool {
    parse(&serde_json::to_value(e).unwrap()).as_ref() == Ok(e)
}

#[test]
fn rejected_filters_have_one_error_at_the_right_pointer() {
    assert_eq!(rows(REJECTED).count(), 63);
    for row in rows(REJECTED) {
        let parts: Vec<&str> = row.splitn(3, " | ").collect();
        let [path, needle, filter] = parts[..] else {
            panic!("bad row {row}")
        };
        let path = if path == "-" { "" } else { path };
        let e = parse_str(filter).expect_err(filter);
        assert_eq!(e.len(), 1, "{filter}: {e:?}");
        assert_eq!(e[0].path, path, "{filter}: {e:?}");
        assert!(e[0].message.contains(needle), "{filter}: {e:?} lacks {needle:?}");
    }
}

#[test]
fn every_leaf_parses() {
    assert_eq!(rows(ACCEPTED).count(), 19);
    for row in rows(ACCEPTED) {
        let (filter, want) = row.split_once(" => ").expect(row);
        let got = parse_str(filter).unwrap_or_else(|e| panic!("{filter}: {e:?}"));
        assert_eq!(format!("{got:?}"), format!("Leaf({want})"), "{filter}");
        assert!(round_trips(&got), "{filter}");
    }
}

#[test]
fn brief_example_parses() {
    let text = r#"{"and":[{"engaged":{"kind":"banquet","action":"attended","within_days":365}},
        {"not":{"engaged":{"action":"volunteered"}}}]}"#;
    let want = r#"And([Leaf(Engaged(EngagedCond { kind: Some("banquet"), action: Some(Attended), department: None, activity: None, within_days: Some(365), since: None, until: None, min_count: 1 })), Not(Leaf(Engaged(EngagedCond { kind: None, action: Some(Volunteered), department: None, activity: None, within_days: None, since: None, until: None, min_count: 1 })))])"#;
    assert_eq!(format!("{:?}", ok(serde_json::from_str(text).unwrap())), want);
}

#[test]
fn limits() {
    let nots = |n: usize| (0..n).fold(json!({"tag": "a"}), |inner, _| json!({ "not": inner }));
    assert!(parse(&nots(MAX_DEPTH - 1)).is_ok());
    for n in [MAX_DEPTH, 1000] {
        let e = errs(nots(n));
        assert_eq!((e.len(), e[0].path.clone()), (1, "/not".repeat(MAX_DEPTH)), "{e:?}");
        assert!(e[0].message.contains("more than 10 levels"));
    }
    let wide = |n: usize| json!({ "or": vec![json!({"tag": "a"}); n] });
    assert!(parse(&wide(MAX_CHILDREN)).is_ok());
    assert_eq!(errs(wide(MAX_CHILDREN + 1))[0].path, "/or");
    let group = json!({"and": [{"tag": "a"}, {"tag": "b"}, {"tag": "c"}, {"tag": "d"}]});
    let e = errs(json!({ "or": vec![group; 40] }));
    assert_eq!((e.len(), e[0].path.as_str()), (1, "/or/39/and/3"));
    assert!(e[0].message.contains("more than 200"));
    let noisy = errs(json!({ "or": vec![json!({"x": 1, "y": 2, "z": 3}); 50] }));
    assert_eq!((noisy.len(), noisy[MAX_ERRORS].path.as_str()), (MAX_ERRORS + 1, ""));
    let f = |v: Value| json!({"field": {"name": "postcode", "op": "in", "value": v}});
    assert!(parse(&f(json!(vec!["a"; 1000]))).is_ok());
    assert_eq!(errs(f(json!(vec!["a"; 1001])))[0].path, "/field/value");
    let long = json!({"field": {"name": "postcode", "op": "eq", "value": "x".repeat(201)}});
    assert!(errs(long)[0].message.contains("200-character"));
    let long = format!("{EVIL}{}", "z".repeat(500));
    let e = errs(json!({"field": {"name": long, "op": "eq", "value": "a"}}));
    assert!(e[0].message.len() < 300, "echoed input is shortened: {}", e[0].message);
}

#[test]
fn reports_every_error() {
    let v = json!({"or": [
        {"field": {"name": "postcode", "op": "before", "value": "x"}},
        {"and": []},
        {"engaged": {"within_days": 10, "since": "2024-01-01", "kind": "Banquet!"}},
        {"score": {"name": "recency", "op": "gt", "value": 9}},
        {"tag": "fine"}
    ]});
    let mut got: Vec<String> = errs(v).into_iter().map(|e| e.path).collect();
    got.sort();
    let want = "/or/0/field/op /or/1/and /or/2/engaged/kind /or/3/score/op /or/3/score/value";
    assert_eq!(got.join(" "), want);
}

#[test]
fn sql_looking_text_is_only_an_opaque_value() {
    for row in rows(OPAQUE) {
        let input: Value = serde_json::from_str(row).unwrap();
        let e = ok(input.clone());
        assert_eq!(serde_json::to_value(&e).unwrap(), input);
        let texts: Vec<String> = leaves(&e).iter().map(|l| format!("{l:?}")).collect();
        assert!(texts.iter().any(|t| t.contains(&format!("{EVIL:?}"))), "{texts:?}");
    }
}

#[test]
fn round_trip_and_canonical_form() {
    let e = ok(json!({"and": [
        {"or": [{"tag": "a"}, {"department": "CS"},
            {"field": {"name": "created_at", "op": "before", "value": "2024-06-01T12:00:00.5+02:00"}}]},
        {"not": {"consent": {"purpose": "news", "channel": "email"}}},
        {"engaged": {"kind": "banquet", "within_days": 365, "since": null}},
        {"score": {"name": "frequency", "op": "lte", "value": 5}},
        {"field": {"name": "postcode", "op": "is_set", "value": null}}
    ]}));
    let canonical = json!({"and": [
        {"or": [{"tag": "a"}, {"department": "CS"},
            {"field": {"name": "created_at", "op": "before", "value": "2024-06-01T10:00:00.500Z"}}]},
        {"not": {"consent": {"purpose": "news", "channel": "email", "state": "granted"}}},
        {"engaged": {"kind": "banquet", "within_days": 365, "min_count": 1}},
        {"score": {"name": "frequency", "op": "lte", "value": 5}},
        {"field": {"name": "postcode", "op": "is_set"}}
    ]});
    assert_eq!(serde_json::to_value(&e).unwrap(), canonical);
    assert_eq!(ok(canonical), e);
    let text = serde_json::to_string(&e).unwrap();
    assert_eq!(serde_json::from_str::<Expr>(&text).unwrap(), e);
    let bad = serde_json::from_str::<Expr>(r#"{"tag": ""}"#).unwrap_err().to_string();
    assert!(bad.contains("/tag: must not be empty"), "{bad}");
}

#[test]
fn parse_str_and_error_shapes() {
    let e = parse_str("{\"tag\": ").unwrap_err();
    assert_eq!((e.len(), e[0].path.as_str()), (1, ""));
    assert!(e[0].message.starts_with("not valid JSON"));
    assert!(e[0].to_string().starts_with("(root): not valid JSON"));
    let e = errs(json!({"tag": 1}));
    let want = json!([{"path": "/tag", "message": "expected a string"}]);
    assert_eq!(serde_json::to_value(&e).unwrap(), want);
    assert_eq!(e[0].to_string(), "/tag: expected a string");
}

fn sets(name: &str) -> Vec<i64> {
    match name {
        "a" => vec![5, 3, 3, 1, 11, -4],
        "b" => vec![2, 3, 4, 5],
        "c" => vec![],
        _ => vec![10, 9, 8],
    }
}

fn eval_tags(e: &Expr, universe: &[i64]) -> Vec<i64> {
    let mut leaf = |l: &Leaf| match l {
        Leaf::Tag(t) => Ok::<_, Infallible>(sets(t)),
        _ => Ok(vec![]),
    };
    evaluate(e, universe, &mut leaf).unwrap()
}

#[test]
fn evaluate_hand_made_sets() {
    let u: Vec<i64> = (1..=10).collect();
    let (a, b) = (tag("a"), tag("b"));
    let and = Expr::And(vec![a.clone(), b.clone()]);
    let or = Expr::Or(vec![a.clone(), b.clone()]);
    assert_eq!(eval_tags(&a, &u), [1, 3, 5]);
    assert_eq!(eval_tags(&and, &u), [3, 5]);
    assert_eq!(eval_tags(&or, &u), [1, 2, 3, 4, 5]);
    assert_eq!(eval_tags(&not(a.clone()), &u), [2, 4, 6, 7, 8, 9, 10]);
    assert_eq!(eval_tags(&Expr::And(vec![or, not(and)]), &u), [1, 2, 4]);
    let e = Expr::Or(vec![not(a.clone()), tag("d"), tag("c")]);
    assert_eq!(eval_tags(&e, &u), [2, 4, 6, 7, 8, 9, 10]);
    assert_eq!(eval_tags(&not(not(b)), &[5, 4, 4, 1]), [4, 5]);
    assert_eq!(eval_tags(&not(a), &[]), Vec::<i64>::new());
    assert_eq!(eval_tags(&Expr::And(vec![]), &u), u);
    assert!(eval_tags(&Expr::Or(vec![]), &u).is_empty());
}

#[test]
fn evaluate_errors_short_circuits_and_leaves() {
    let mut calls = 0;
    let mut leaf = |l: &Leaf| {
        calls += 1;
        match l {
            Leaf::Tag(t) if t == "boom" => Err("failed"),
            Leaf::Tag(t) => Ok(sets(t)),
            _ => Ok(vec![]),
        }
    };
    let empty_first = Expr::And(vec![tag("c"), tag("boom")]);
    assert_eq!(evaluate(&empty_first, &[1, 2], &mut leaf), Ok(vec![]));
    let or = Expr::Or(vec![tag("b"), tag("boom")]);
    assert_eq!(evaluate(&or, &[2, 3], &mut leaf), Ok(vec![2, 3]));
    assert_eq!(evaluate(&or, &[1, 2], &mut leaf), Err("failed"));
    assert_eq!(calls, 4);
    let e = ok(json!({"and": [{"tag": "a"}, {"or": [{"department": "CS"}, {"not": {"tag": "b"}}]}]}));
    let names: Vec<String> = leaves(&e).iter().map(|l| format!("{l:?}")).collect();
    assert_eq!(names, [r#"Tag("a")"#, r#"Department("CS")"#, r#"Tag("b")"#]);
}

fn words(text: &'static str) -> Vec<&'static str> {
    text.split(' ').chain([EVIL, ""]).collect()
}

/// Arbitrary JSON, with the grammar's keys and words among the random ones.
fn arb_json() -> impl Strategy<Value = Value> {
    let keys = "and or not field tag department engaged score consent name op value kind action activity \
                within_days since until min_count purpose channel state";
    let scalars = "postcode created_at date_of_birth eq in is_set before after starts_with attended banquet CS \
                   recency gte email granted news 2024-02-29 2024-01-01T10:00:00+01:00";
    let key = prop_oneof![prop::sample::select(words(keys)).prop_map(String::from), "[a-z/~]{0,4}"];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        (0u64..4000).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(words(scalars)).prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(12, 64, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// JSON Pointers of every value in `v` (keys here need no escaping).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// A valid filter, with one value anywhere in it replaced by arbitrary JSON.
fn arb_mutated() -> impl Strategy<Value = Value> {
    (arb_expr(), arb_json(), any::<prop::sample::Index>()).prop_map(|(e, junk, i)| {
        let mut v = serde_json::to_value(&e).unwrap();
        let mut at = Vec::new();
        pointers(&v, String::new(), &mut at);
        if let Some(slot) = v.pointer_mut(&at[i.index(at.len())]) {
            *slot = junk;
        }
        v
    })
}

/// Expressions within every limit over tags `t0`..`t3` and the leaves of [`ACCEPTED`].
fn arb_expr() -> impl Strategy<Value = Expr> {
    let samples: Vec<Expr> = rows(ACCEPTED)
        .filter_map(|r| parse_str(r.split(" => ").next()?).ok())
        .collect();
    let leaf = prop_oneof![3 => (0..4u8).prop_map(|i| tag(&format!("t{i}"))), 1 => prop::sample::select(samples)];
    leaf.prop_recursive(4, 40, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Expr::Or),
            inner.prop_map(not),
        ]
    })
}

fn arb_sets() -> impl Strategy<Value = Vec<Vec<i64>>> {
    prop::collection::vec(prop::collection::vec(-5i64..40, 0..30), 4)
}

fn set_of<'a>(l: &Leaf, sets: &'a [Vec<i64>]) -> &'a [i64] {
    match l {
        Leaf::Tag(t) if t.len() == 2 => &sets[usize::from(t.as_bytes()[1] - b'0')],
        _ => &[],
    }
}

/// Membership of one id, straight from the definition.
fn holds(e: &Expr, id: i64, sets: &[Vec<i64>]) -> bool {
    match e {
        Expr::And(v) => v.iter().all(|c| holds(c, id, sets)),
        Expr::Or(v) => v.iter().any(|c| holds(c, id, sets)),
        Expr::Not(c) => !holds(c, id, sets),
        Expr::Leaf(l) => set_of(l, sets).contains(&id),
    }
}

fn eval_with(e: &Expr, universe: &[i64], sets: &[Vec<i64>]) -> Vec<i64> {
    let mut leaf = |l: &Leaf| Ok::<_, Infallible>(set_of(l, sets).to_vec());
    evaluate(e, universe, &mut leaf).unwrap()
}

proptest! {
    #[test]
    fn parse_never_panics_and_accepted_values_round_trip(v in prop_oneof![arb_json(), arb_mutated()]) {
        let parsed = parse(&v);
        prop_assert_eq!(&parse_str(&v.to_string()), &parsed);
        match parsed {
            Ok(e) => prop_assert!(round_trips(&e)),
            Err(errors) => {
                prop_assert!(!errors.is_empty() && errors.len() <= MAX_ERRORS + 1);
                prop_assert!(errors.iter().all(|e| e.path.is_empty() || e.path.starts_with('/')));
            }
        }
    }

    #[test]
    fn evaluate_matches_the_definition(e in arb_expr(), sets in arb_sets(), universe in prop::collection::vec(-5i64..40, 0..40)) {
        let got = eval_with(&e, &universe, &sets);
        prop_assert!(got.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(got.iter().all(|id| universe.contains(id)));
        let mut want = universe.clone();
        want.sort_unstable();
        want.dedup();
        want.retain(|id| holds(&e, *id, &sets));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn de_morgan(sets in arb_sets(), universe in prop::collection::btree_set(-5i64..40, 0..40)) {
        let u: Vec<i64> = universe.into_iter().collect();
        let (a, b) = (tag("t0"), tag("t1"));
        let lhs = not(Expr::And(vec![a.clone(), b.clone()]));
        let rhs = Expr::Or(vec![not(a.clone()), not(b.clone())]);
        prop_assert_eq!(eval_with(&lhs, &u, &sets), eval_with(&rhs, &u, &sets));
        let lhs = not(Expr::Or(vec![a.clone(), b.clone()]));
        let rhs = Expr::And(vec![not(a), not(b)]);
        prop_assert_eq!(eval_with(&lhs, &u, &sets), eval_with(&rhs, &u, &sets));
    }

    #[test]
    fn generated_expressions_round_trip(e in arb_expr()) {
        prop_assert!(round_trips(&e));
    }
}
