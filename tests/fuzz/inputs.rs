//! Hostile inputs for tests/fuzz.rs that need no schema, or only a query parameter's: path
//! segments, query values and bodies that are wrong before any schema applies, drawn from a
//! seeded generator so that a run can be repeated exactly.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;

use crate::schema::{deep, Schemas, NUMBERS};

/// Percent-encode every byte outside the unreserved set, so any text fits in a URI.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Text a client might type into any field: unicode tricks, control characters, markup,
/// wildcards and things that look like other types.
pub fn odd_text(rng: &mut StdRng) -> String {
    const PIECES: &[&str] = &[
        "Zoë",
        "𝔘𝔫𝔦",
        "\u{202e}gnp.exe",
        "\u{feff}",
        "\u{200b}",
        "e\u{301}\u{301}\u{301}",
        "ß",
        "İ",
        "ﬃ",
        "\r\n",
        "\t",
        "\u{1}",
        "\u{7f}",
        "<script>",
        "{{ x }}",
        "{% for %}",
        "%",
        "_",
        "\\",
        "'",
        "\"",
        "--",
        "1e309",
        "NaN",
        "null",
        "@",
        "+44",
        "   ",
        "🏳️‍🌈",
        "\u{fffd}",
        "\u{10ffff}",
    ];
    (0..rng.gen_range(1..6))
        .map(|_| *PIECES.choose(rng).unwrap_or(&""))
        .collect()
}

/// Garbage for a path parameter, already percent-encoded.
pub fn path_segments(rng: &mut StdRng) -> Vec<String> {
    let mut out: Vec<String> = [
        "0",
        "-1",
        "99999999999999999999",
        "%00",
        "%FF",
        "%FF%FE%00",
        "%C3%A9t%C3%A9%E2%80%AE%F0%9F%92%A5",
        "..%2F..%2Fetc%2Fpasswd",
        "%2E%2E",
        "%2F",
        "%20",
        "null",
        "1e309",
        "%27%20OR%201%3D1--",
        "%25",
        "a%0Ab",
        "*",
    ]
    .map(String::from)
    .to_vec();
    out.push("x".repeat(2000));
    out.push("%FF".repeat(700));
    out.push("0123456789abcdef0123456789abcdef".into());
    for _ in 0..3 {
        out.push(encode(&odd_text(rng)));
    }
    out
}

/// Bodies that are wrong before any schema applies, as (content type, body).
pub fn generic_bodies(rng: &mut StdRng) -> Vec<(Option<&'static str>, Vec<u8>)> {
    const JSON: Option<&str> = Some("application/json");
    let mut out: Vec<(Option<&'static str>, Vec<u8>)> = [
        "",
        "null",
        "[]",
        "[1,2,3]",
        "\"text\"",
        "1e309",
        "-9223372036854775809",
        "true",
        "{",
        "{}",
        "{} {}",
        "{\"a\":1,\"a\":2}",
        "{\"\\u0000\":1}",
        "\"\\ud800\"",
        "\u{feff}{}",
        "{\"id\":\"x\"}",
        "  \n ",
    ]
    .iter()
    .map(|b| (JSON, b.as_bytes().to_vec()))
    .collect();
    out.push((JSON, deep(10_000).into_bytes()));
    out.push((
        JSON,
        format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)).into_bytes(),
    ));
    out.push((JSON, vec![0xff, 0xfe, b'{', b'}']));
    out.push((JSON, format!("{{\"a\":\"{}\"}}", "x".repeat(1_100_000)).into_bytes()));
    let mut noise = vec![0u8; 4096];
    rng.fill(noise.as_mut_slice());
    out.push((JSON, noise.clone()));
    for ct in [
        None,
        Some("text/plain"),
        Some("application/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=utf-16"),
        Some("application/merge-patch+json"),
        Some("application/"),
        Some("*/*"),
    ] {
        out.push((ct, b"{}".to_vec()));
    }
    out.push((Some("application/octet-stream"), noise));
    out.push((Some("text/csv"), csv_bodies().join("\n").into_bytes()));
    for csv in csv_bodies() {
        out.push((Some("text/csv"), csv.into_bytes()));
    }
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    out.push((Some(xlsx), b"PK\x03\x04\x14\x00\x00\x00\x08\x00garbage".to_vec()));
    out.push((Some(xlsx), b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec()));
    out.push((Some("message/delivery-status"), bounce().into_bytes()));
    out.push((
        Some("text/plain"),
        bounce().replace("\r\n", "\n").repeat(200).into_bytes(),
    ));
    out
}

/// Spreadsheet exports at their worst: formulas, ragged rows, odd encodings, huge cells.
fn csv_bodies() -> Vec<String> {
    vec![
        "Forename,Surname,Email\n=cmd|' /C calc'!A0,\"unterminated,x\n".into(),
        "Forename,Forename,,\n\"a\"\"b\",c,d,e,f,g\n".into(),
        format!("{}\n{}\n", vec!["c"; 5_000].join(","), vec!["1"; 5_000].join(",")),
        format!("Forename\n{}\n", "y".repeat(300_000)),
        "\u{feff}Forename;Surname\r\nZoë;\u{0}\rÅsa;\u{202e}\n".into(),
        "\n\n\n".into(),
        "Forename,Date of birth,Email,Phone,Postcode\nAda,31/02/1815,@,+,ZZ99 9ZZ\n".into(),
    ]
}

/// A delivery status notice with headers that lie about their parts.
fn bounce() -> String {
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\
     Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822;\r\nStatus: 9.9.99999999999\r\n\
     Action: failed\r\nX-Lighthouse-Token: %FF\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n\
     Message-ID: <\u{0}>\r\n--b--"
        .into()
}

/// Values for a query parameter of schema `s` (percent-encoded): the extremes of its type and
/// a seeded sample of general garbage.
pub fn query_values(schemas: &Schemas, s: &Value, name: &str, rng: &mut StdRng) -> Vec<String> {
    const GARBAGE: &[&str] = &[
        "",
        "abc",
        "-5",
        "!!!",
        "%00",
        "%FF",
        "%zz",
        "%",
        "notadate",
        "1e309",
        "99999999999999999999",
        "-9223372036854775809",
        "9223372036854775807",
        "true",
        "null",
        "%E2%80%AE%F0%9F%92%A5",
        "..%2F",
        "a%26b%3Dc",
        "+",
        "%20%20",
        "0",
        "-1",
        "1.5",
        "%5B%5D",
        "%7B%7D",
    ];
    let mut out: Vec<String> = GARBAGE.iter().map(|g| g.to_string()).collect();
    out.shuffle(rng);
    out.truncate(8);
    out.push("x".repeat(2000));
    out.push(encode(&odd_text(rng)));
    match schemas.kind(s) {
        "integer" | "number" => out.extend(NUMBERS.iter().map(|n| encode(n))),
        "enum" => out.extend(
            schemas
                .enum_values(s)
                .iter()
                .filter_map(Value::as_str)
                .flat_map(|v| [encode(v), v.to_uppercase(), format!("{v}%00")]),
        ),
        _ => out.extend(
            [
                "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "+275760-09-13T00:00:00Z",
                "-000001-01-01T00:00:00Z",
                "2024-02-30T00:00:00Z",
                "2024-01-01",
                "1970-01-01T00:00:00+14:00",
                "2026-01-01T00:00:00Z",
            ]
            .map(encode),
        ),
    }
    out.push(plausible_query(schemas, s, name));
    out
}

/// A value a well-behaved client would give the parameter (percent-encoded).
pub fn plausible_query(schemas: &Schemas, s: &Value, name: &str) -> String {
    match schemas.plausible(s, name, 0) {
        Value::String(t) => encode(&t),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "1".into(),
    }
}
