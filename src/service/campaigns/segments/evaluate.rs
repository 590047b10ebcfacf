//! Evaluating a filter: each leaf is one fixed, parameterised query returning person ids;
//! `and`/`or`/`not` are set operations in memory against the universe of active people.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::campaigns_core::segment::{
    self, ConsentState, DateValue, EngagedCond, Expr, FieldCond, FieldName, FieldOp, FieldValue, Leaf, ScoreCond,
    ScoreName, ScoreOp,
};
use crate::db::schema::{
    activities, consent_state, departments, engagement_events, people, person_addresses, person_departments,
    person_emails, person_tags,
};
use crate::db::{self, DbConn};
use crate::error::AppResult;
use crate::journeys_core::{self as jc};

/// The people (internal ids, ascending) a filter selects now.
pub fn evaluate(conn: &mut DbConn, expr: &Expr, now: NaiveDateTime) -> AppResult<Vec<i64>> {
    let universe: Vec<i64> = people::table
        .filter(people::status.eq("active"))
        .select(people::id)
        .order(people::id)
        .load(conn)?;
    segment::evaluate(expr, &universe, &mut |leaf: &Leaf| leaf_ids(conn, leaf, now, &universe))
}

fn leaf_ids(conn: &mut DbConn, leaf: &Leaf, now: NaiveDateTime, universe: &[i64]) -> AppResult<Vec<i64>> {
    Ok(match leaf {
        Leaf::Field(f) => field_ids(conn, f)?,
        Leaf::Tag(t) => person_tags::table
            .filter(person_tags::tag.eq(t))
            .select(person_tags::person_id)
            .load(conn)?,
        Leaf::Department(code) => person_departments::table
            .inner_join(departments::table)
            .filter(departments::code.eq(code))
            .select(person_departments::person_id)
            .load(conn)?,
        Leaf::Engaged(e) => engaged_ids(conn, e, now)?,
        Leaf::Score(s) => score_ids(conn, s, now, universe)?,
        Leaf::Consent(c) => {
            let Some(purpose) = crate::db::consent::find_purpose(conn, &c.purpose)? else {
                return Ok(if c.state == ConsentState::None {
                    universe.to_vec()
                } else {
                    Vec::new()
                });
            };
            if c.state == ConsentState::Contactable {
                // The full contact decision (the parser allows it for email only).
                return crate::service::consent::contactable_ids_by_email(conn, &purpose, now);
            }
            let purpose = purpose.id;
            // The latest state per person for the purpose and channel, over all their points.
            let rows: Vec<(i64, String, NaiveDateTime, Option<NaiveDateTime>)> = consent_state::table
                .filter(consent_state::purpose_id.eq(purpose))
                .filter(consent_state::channel.eq(c.channel.as_str()))
                .select((
                    consent_state::person_id,
                    consent_state::status,
                    consent_state::captured_at,
                    consent_state::expires_at,
                ))
                .load(conn)?;
            let mut latest: HashMap<i64, (NaiveDateTime, ConsentState)> = HashMap::new();
            for (person, status, at, expires) in rows {
                let state = match status.as_str() {
                    "granted" if expires.is_some_and(|e| e <= now) => ConsentState::Expired,
                    "granted" => ConsentState::Granted,
                    "withdrawn" => ConsentState::Withdrawn,
                    _ => ConsentState::Refused,
                };
                let e = latest.entry(person).or_insert((at, state));
                if at > e.0 {
                    *e = (at, state);
                }
            }
            if c.state == ConsentState::None {
                universe.iter().copied().filter(|p| !latest.contains_key(p)).collect()
            } else {
                latest
                    .into_iter()
                    .filter(|(_, (_, s))| *s == c.state)
                    .map(|(p, _)| p)
                    .collect()
            }
        }
    })
}

/// Whether a stored value meets a text condition: the stored value is normalised by `norm`, the
/// condition's operand by `operand` (the same, except for a district: the stored postcode is cut
/// to its outward code, the operand already is one).
fn text_matches(value: Option<&str>, f: &FieldCond, norm: fn(&str) -> String, operand: fn(&str) -> String) -> bool {
    let v = value.map(str::trim).filter(|v| !v.is_empty()).map(norm);
    let norm = operand;
    match (f.op, &f.value, v) {
        (FieldOp::IsSet, _, v) => v.is_some(),
        (FieldOp::IsNotSet, _, v) => v.is_none(),
        (FieldOp::Eq, Some(FieldValue::Text(t)), Some(v)) => v == norm(t),
        (FieldOp::Ne, Some(FieldValue::Text(t)), v) => v.is_none_or(|v| v != norm(t)),
        (FieldOp::StartsWith, Some(FieldValue::Text(t)), Some(v)) => v.starts_with(&norm(t)),
        (FieldOp::In, Some(FieldValue::List(l)), Some(v)) => l.iter().any(|t| norm(t) == v),
        _ => false,
    }
}

fn lower(s: &str) -> String {
    s.trim().to_lowercase()
}

fn postcode(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// The outward code: a normalised postcode without its last three characters.
fn district(s: &str) -> String {
    let p = postcode(s);
    if p.len() > 3 && p.is_ascii() {
        p[..p.len() - 3].to_string()
    } else {
        p
    }
}

fn date_matches(value: Option<NaiveDateTime>, f: &FieldCond) -> bool {
    let bounds = |d: &DateValue| match d {
        DateValue::Date(d) => (day_start(*d), day_start(*d) + Duration::days(1)),
        DateValue::DateTime(t) => (*t, *t + Duration::microseconds(1)),
    };
    match (f.op, &f.value, value) {
        (FieldOp::IsSet, _, v) => v.is_some(),
        (FieldOp::IsNotSet, _, v) => v.is_none(),
        (FieldOp::Eq, Some(FieldValue::Date(d)), Some(v)) => {
            let (lo, hi) = bounds(d);
            v >= lo && v < hi
        }
        (FieldOp::Before, Some(FieldValue::Date(d)), Some(v)) => v < bounds(d).0,
        (FieldOp::After, Some(FieldValue::Date(d)), Some(v)) => v >= bounds(d).1,
        _ => false,
    }
}

fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

fn field_ids(conn: &mut DbConn, f: &FieldCond) -> AppResult<Vec<i64>> {
    let active = people::table.filter(people::status.eq("active"));
    let keep_text = |rows: Vec<(i64, Option<String>)>, norm: fn(&str) -> String| -> Vec<i64> {
        let operand = if f.name == FieldName::PostcodeDistrict {
            postcode
        } else {
            norm
        };
        rows.into_iter()
            .filter(|(_, v)| text_matches(v.as_deref(), f, norm, operand))
            .map(|(id, _)| id)
            .collect()
    };
    Ok(match f.name {
        FieldName::GivenName => keep_text(active.select((people::id, people::given_name)).load(conn)?, lower),
        FieldName::FamilyName => keep_text(active.select((people::id, people::family_name)).load(conn)?, lower),
        FieldName::Organisation => keep_text(active.select((people::id, people::organisation)).load(conn)?, lower),
        FieldName::Postcode | FieldName::PostcodeDistrict => {
            let mut rows: Vec<(i64, Option<String>)> = active
                .left_join(
                    person_addresses::table.on(person_addresses::person_id
                        .eq(people::id)
                        .and(person_addresses::is_primary.eq(true))),
                )
                .select((people::id, person_addresses::postcode.nullable()))
                .order(people::id)
                .load::<(i64, Option<String>)>(conn)?;
            rows.dedup_by_key(|r| r.0);
            keep_text(
                rows,
                if f.name == FieldName::Postcode {
                    postcode
                } else {
                    district
                },
            )
        }
        FieldName::EmailDomain => {
            let rows: Vec<(i64, Option<String>)> = active
                .left_join(
                    person_emails::table.on(person_emails::person_id
                        .eq(people::id)
                        .and(person_emails::is_primary.eq(true))),
                )
                .select((people::id, person_emails::address.nullable()))
                .order(people::id)
                .load(conn)?;
            let domain = |a: Option<String>| a.and_then(|a| a.rsplit_once('@').map(|d| d.1.to_string()));
            let mut rows: Vec<(i64, Option<String>)> = rows.into_iter().map(|(id, a)| (id, domain(a))).collect();
            rows.dedup_by_key(|r| r.0);
            keep_text(rows, lower)
        }
        FieldName::DateOfBirth => active
            .select((people::id, people::date_of_birth))
            .load::<(i64, Option<NaiveDate>)>(conn)?
            .into_iter()
            .filter(|(_, d)| date_matches(d.map(day_start), f))
            .map(|(id, _)| id)
            .collect(),
        FieldName::CreatedAt => active
            .select((people::id, people::created_at))
            .load::<(i64, NaiveDateTime)>(conn)?
            .into_iter()
            .filter(|(_, t)| date_matches(Some(*t), f))
            .map(|(id, _)| id)
            .collect(),
    })
}

fn engaged_ids(conn: &mut DbConn, e: &EngagedCond, now: NaiveDateTime) -> AppResult<Vec<i64>> {
    let mut q = engagement_events::table.into_boxed::<db::people::Db>();
    if let Some(k) = &e.kind {
        q = q.filter(engagement_events::kind.eq(k.clone()));
    }
    match e.action {
        Some(a) => q = q.filter(engagement_events::action.eq(a.as_str())),
        // Every action named, so a period is read as ranges of the index led by action.
        None => q = q.filter(engagement_events::action.eq_any(crate::db::engagement::ACTIONS)),
    }
    if let Some(code) = &e.department {
        let ids: Vec<i64> = departments::table
            .filter(departments::code.eq(code))
            .select(departments::id)
            .load(conn)?;
        q = q.filter(engagement_events::department_id.eq_any(ids));
    }
    if let Some(a) = &e.activity {
        let ids: Vec<i64> = activities::table
            .filter(activities::public_id.eq(a))
            .select(activities::id)
            .load(conn)?;
        q = q.filter(engagement_events::activity_id.eq_any(ids));
    }
    if let Some(days) = e.within_days {
        q = q.filter(engagement_events::occurred_at.ge(now - Duration::days(i64::from(days))));
    }
    if let Some(d) = e.since {
        q = q.filter(engagement_events::occurred_at.ge(day_start(d)));
    }
    if let Some(d) = e.until {
        q = q.filter(engagement_events::occurred_at.lt(day_start(d) + Duration::days(1)));
    }
    // Counted here: diesel cannot group a boxed query on two backends at once.
    let mut ids: Vec<i64> = q.select(engagement_events::person_id).load(conn)?;
    ids.sort_unstable();
    let need = e.min_count.max(1) as usize;
    let mut out = Vec::new();
    for run in ids.chunk_by(|a, b| a == b) {
        if run.len() >= need {
            out.push(run[0]);
        }
    }
    Ok(out)
}

fn score_ids(conn: &mut DbConn, s: &ScoreCond, now: NaiveDateTime, universe: &[i64]) -> AppResult<Vec<i64>> {
    let test = |scores: &jc::PersonScores| {
        let v = match s.name {
            ScoreName::Recency => scores.r_score,
            ScoreName::Frequency => scores.f_score,
            ScoreName::Breadth => scores.b_score,
        };
        match s.op {
            ScoreOp::Gte => v >= s.value,
            ScoreOp::Lte => v <= s.value,
            ScoreOp::Eq => v == s.value,
        }
    };
    let all = crate::service::journeys::all_scores(conn, now)?;
    let nobody = jc::person_scores(&[], now);
    Ok(if test(&nobody) {
        // People with no participation score like `nobody`: start from everyone.
        universe
            .iter()
            .copied()
            .filter(|p| all.get(p).is_none_or(&test))
            .collect()
    } else {
        all.into_iter().filter(|(_, sc)| test(sc)).map(|(p, _)| p).collect()
    })
}
