//! Times a client sends are held to 1900-01-01T00:00:00Z … 9999-12-31T23:59:59Z as they are
//! read (`#[serde(deserialize_with = …)]` on each request field; segment filters check
//! [`YEARS`]). Inside that range both backends store, compare and order every time alike — PostgreSQL refuses years before 4713 BC,
//! and SQLite keeps times as text, which sorts a five-digit year before a four-digit one — and
//! adding a period to one cannot overflow. A time outside it is refused, naming its field.

use chrono::{DateTime, Datelike, Utc};
use serde::{de::Error, Deserialize, Deserializer};

/// The first and last years a client's time may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

fn check<E: Error>(t: DateTime<Utc>) -> Result<DateTime<Utc>, E> {
    if YEARS.contains(&t.year()) {
        Ok(t)
    } else {
        Err(E::custom(format!(
            "{t} is out of range: a time must fall between the years {} and {}",
            YEARS.start(),
            YEARS.end()
        )))
    }
}

/// A required time.
pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    check(DateTime::<Utc>::deserialize(d)?)
}

/// An optional time (use with `#[serde(default)]`).
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d)?.map(check).transpose()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::required")]
        at: chrono::DateTime<chrono::Utc>,
        #[serde(default, deserialize_with = "super::optional")]
        until: Option<chrono::DateTime<chrono::Utc>>,
    }

    fn parse(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn times_inside_the_range_pass_and_outside_it_are_refused() {
        assert!(parse(r#"{"at": "2026-12-07T10:00:00Z"}"#).is_ok_and(|t| t.until.is_none() && t.at.timestamp() > 0));
        assert!(parse(r#"{"at": "1900-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}"#).is_ok());
        assert!(parse(r#"{"at": "2026-12-07T10:00:00Z", "until": null}"#).is_ok());
        for bad in [
            "1899-12-31T23:59:59Z",
            "-5000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
        ] {
            let e = parse(&format!(r#"{{"at": "{bad}"}}"#)).err().unwrap_or_default();
            assert!(e.contains("out of range"), "{bad}: {e}");
            let e = parse(&format!(r#"{{"at": "2026-01-01T00:00:00Z", "until": "{bad}"}}"#))
                .err()
                .unwrap_or_default();
            assert!(e.contains("out of range"), "{bad}: {e}");
        }
    }
}
