//! What a reviewer would make of the review queue, and why the true pairs that stay apart were
//! missed.
//!
//! Policy:
//! - **A reviewer's decisions**: a pending proposal is accepted when the majority entity of the
//!   records at each of its two people (by the truth; ties to the smaller entity) is the same,
//!   and rejected otherwise. That is the clustering the issue's F1 counts ("accepted proposals
//!   as links"), and the number of proposals is the reviewer's work.
//! - **Why pairs were missed**: every pair of people holding records of one entity is scored
//!   again, as the service would score it now (the model in use, default thresholds), and put
//!   under one reason: no shared blocking key (never a candidate), a guard that capped the
//!   decision, or the band of its probability. Pairs are counted as record pairs (and people
//!   pairs in brackets). Scoring again costs one comparison per missed pair of people, and
//!   the records are read a chunk at a time.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;

use super::Links;
use crate::db::DbConn;
use crate::matching::{blocking_keys, decide, Decision, Guard, MatchRecord, Prepared, Thresholds};
use crate::service::identity::{index, matcher};

/// The majority entity of the records at each person (label > 0), ties to the smaller entity.
pub fn majority_entities(labels: &[(u32, i64)]) -> HashMap<i64, u32> {
    let mut counts: HashMap<i64, HashMap<u32, u64>> = HashMap::new();
    for &(entity, person) in labels.iter().filter(|(_, p)| *p > 0) {
        *counts.entry(person).or_default().entry(entity).or_default() += 1;
    }
    counts
        .into_iter()
        .filter_map(|(person, by_entity)| {
            let best = by_entity.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
            Some((person, best.0))
        })
        .collect()
}

/// The proposals a reviewer accepts (same majority entity on both sides), joined in `links`.
/// Returns (accepted, rejected); proposals between people already together count as neither.
pub fn reviewer_decisions(proposals: &[(i64, i64)], majority: &HashMap<i64, u32>, links: &mut Links) -> (u64, u64) {
    let (mut accepted, mut rejected) = (0, 0);
    for &(a, b) in proposals {
        if a == b {
            continue;
        }
        match (majority.get(&a), majority.get(&b)) {
            (Some(x), Some(y)) if x == y => {
                accepted += 1;
                links.union(a, b);
            }
            _ => rejected += 1,
        }
    }
    (accepted, rejected)
}

/// Missed pairs of one kind: reason → (record pairs, people pairs).
pub type Reasons = BTreeMap<String, (u64, u64)>;

/// Up to a few pairs of match records per reason, to look at.
pub type Examples = BTreeMap<String, Vec<(MatchRecord, MatchRecord)>>;

/// One line for a match record: the values the matcher compares.
pub fn one_line(r: &MatchRecord) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "{} / {} | {} | {} | {} | {} | {} | {}",
        opt(&r.given),
        opt(&r.family),
        r.dob.map_or_else(|| "-".into(), |d| d.to_string()),
        r.emails.join(" "),
        r.phones.join(" "),
        opt(&r.postcode),
        opt(&r.address_line),
        opt(&r.organisation)
    )
}

/// Pairs of people holding records of one entity: ((a, b), record pairs), a < b.
pub fn entity_person_pairs(labels: &[(u32, i64)]) -> HashMap<(i64, i64), u64> {
    let mut by_entity: HashMap<u32, HashMap<i64, u64>> = HashMap::new();
    for &(entity, person) in labels {
        *by_entity.entry(entity).or_default().entry(person).or_default() += 1;
    }
    let mut out: HashMap<(i64, i64), u64> = HashMap::new();
    for people in by_entity.values().filter(|p| p.len() > 1) {
        let list: Vec<(i64, u64)> = people.iter().map(|(p, n)| (*p, *n)).collect();
        for (i, &(a, na)) in list.iter().enumerate() {
            for &(b, nb) in &list[i + 1..] {
                *out.entry((a.min(b), a.max(b))).or_default() += na * nb;
            }
        }
    }
    out
}

/// The band a probability falls in, for pairs the score alone keeps below review.
fn band(p: f64) -> &'static str {
    if p < 0.01 {
        "below review: p < 0.01"
    } else if p < 0.5 {
        "below review: 0.01 <= p < 0.5"
    } else {
        "below review: 0.5 <= p < review"
    }
}

/// True when some field other than the names agrees at least weakly: a date of birth equal up
/// to a typo or a day/month swap, an email or phone equal up to a slip, the postcode's sector,
/// the street of the address, the organisation. Without that, two records share nothing but a
/// name, and nobody could tell whether they are one person.
pub fn more_than_names(a: &Prepared, b: &Prepared) -> bool {
    use crate::matching::field::{address, dob, email, phone, postcode, Field};
    let c = crate::matching::compare(a, b);
    let agrees = |f: Field, weakest: u8| c.level(f).is_some_and(|l| l <= weakest);
    agrees(Field::Dob, dob::TYPO)
        || agrees(Field::Email, email::TYPO)
        || agrees(Field::Phone, phone::SLIP)
        || agrees(Field::Postcode, postcode::SECTOR)
        || agrees(Field::Address, address::STREET_ONLY)
        || agrees(Field::Organisation, crate::matching::field::organisation::SIMILAR)
}

/// Why the service would not link `a` and `b` automatically (or would, now).
pub fn reason(a: &Prepared, b: &Prepared, trained: &matcher::Trained, t: &Thresholds) -> String {
    if !more_than_names(a, b) {
        return "only the names agree (nothing else in common: undecidable)".into();
    }
    let ka = blocking_keys(a);
    if !blocking_keys(b).iter().any(|k| ka.binary_search(k).is_ok()) {
        return "no shared blocking key".into();
    }
    let score = trained.model.score(a, b, &trained.tf);
    let unguarded = crate::matching::Score {
        guards: crate::matching::Guards::none(),
        ..score.clone()
    };
    let by_score = decide(&unguarded, t);
    let decision = decide(&score, t);
    if decision.rank() < by_score.rank() {
        let held: Vec<&str> = score.guards.iter().map(Guard::code).collect();
        return format!("guard {} (score alone: {})", held.join("+"), by_score.code());
    }
    match decision {
        Decision::Link => "scores a link now".into(),
        Decision::Review => "review band".into(),
        Decision::NewPerson => band(score.probability).into(),
    }
}

/// Classify the person pairs: reason → (record pairs, people pairs), with up to `examples`
/// pairs of match records per reason. People without a match record (a record without a
/// person) count under their own reason.
pub fn classify(
    conn: &mut DbConn,
    pairs: &[((i64, i64), u64)],
    trained: &matcher::Trained,
    t: &Thresholds,
    examples: usize,
) -> QueryResult<(Reasons, Examples)> {
    let mut out = Reasons::new();
    let mut shown = Examples::new();
    let wanted: Vec<i64> = pairs
        .iter()
        .flat_map(|((a, b), _)| [*a, *b])
        .filter(|p| *p > 0)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut prepared: HashMap<i64, (MatchRecord, Prepared)> = HashMap::new();
    for part in wanted.chunks(2_000) {
        let records = index::records_of(conn, part)
            .map_err(|e| diesel::result::Error::QueryBuilderError(format!("cannot read match records: {e}").into()))?;
        prepared.extend(records.into_iter().map(|(id, r)| {
            let p = Prepared::from_record(&r);
            (id, (r, p))
        }));
    }
    let mut sorted: Vec<&((i64, i64), u64)> = pairs.iter().collect();
    sorted.sort_unstable();
    let names_only: Vec<i64> = sorted
        .iter()
        .filter_map(|((a, b), _)| Some(((*a, *b), (prepared.get(a)?, prepared.get(b)?))))
        .filter(|(_, (x, y))| !more_than_names(&x.1, &y.1))
        .flat_map(|((a, b), _)| [a, b])
        .collect();
    let sources = source_records_of(conn, &names_only)?;
    for ((a, b), n) in sorted {
        let why = match (prepared.get(a), prepared.get(b)) {
            (Some(x), Some(y)) => {
                let mut why = reason(&x.1, &y.1, trained, t);
                if !more_than_names(&x.1, &y.1) && sources_share_more(&sources, *a, *b) {
                    why = "only the names agree in the golden records; two source records share more".into();
                }
                let list = shown.entry(why.clone()).or_default();
                if list.len() < examples {
                    list.push((x.0.clone(), y.0.clone()));
                }
                why
            }
            _ => "a side with no matchable person".into(),
        };
        let slot = out.entry(why).or_default();
        slot.0 += n;
        slot.1 += 1;
    }
    Ok((out, shown))
}

/// The match record of a stored source record (`source_records.data`, a cleaned row).
fn source_record(data: &str) -> Option<MatchRecord> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    let text = |x: &serde_json::Value| x.as_str().map(str::to_string);
    let firsts = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|list| list.iter().filter_map(|e| text(&e[0])).collect())
            .unwrap_or_default()
    };
    Some(MatchRecord {
        given: text(&v["given_name"]).or_else(|| text(&v["preferred_name"])),
        family: text(&v["family_name"]),
        dob: text(&v["date_of_birth"]).and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        emails: firsts("emails"),
        phones: firsts("phones"),
        postcode: text(&v["address"]["postcode"]),
        address_line: text(&v["address"]["line1"]),
        organisation: text(&v["organisation"]),
    })
}

/// The prepared source records of these people, by person.
fn source_records_of(conn: &mut DbConn, people: &[i64]) -> QueryResult<HashMap<i64, Vec<Prepared>>> {
    use crate::db::schema::source_records;
    let mut out: HashMap<i64, Vec<Prepared>> = HashMap::new();
    for part in people.chunks(2_000) {
        let rows: Vec<(Option<i64>, String)> = source_records::table
            .filter(source_records::person_id.eq_any(part))
            .select((source_records::person_id, source_records::data))
            .load(conn)?;
        for (person, data) in rows {
            if let (Some(p), Some(r)) = (person, source_record(&data)) {
                out.entry(p).or_default().push(Prepared::from_record(&r));
            }
        }
    }
    Ok(out)
}

/// Some source record of `a` and some of `b` share more than names.
fn sources_share_more(sources: &HashMap<i64, Vec<Prepared>>, a: i64, b: i64) -> bool {
    let (Some(xs), Some(ys)) = (sources.get(&a), sources.get(&b)) else {
        return false;
    };
    xs.iter().any(|x| ys.iter().any(|y| more_than_names(x, y)))
}

/// The reasons as lines, most record pairs first, each followed by its examples.
pub fn describe(reasons: &Reasons, examples: &Examples) -> String {
    let mut rows: Vec<(&String, &(u64, u64))> = reasons.iter().collect();
    rows.sort_by(|x, y| y.1 .0.cmp(&x.1 .0).then(x.0.cmp(y.0)));
    let mut lines = Vec::new();
    for (why, (records, people)) in rows {
        lines.push(format!("    {records:>6} ({people:>5})  {why}"));
        for (a, b) in examples.get(why).into_iter().flatten() {
            lines.push(format!(
                "             e.g. {}\n              vs. {}",
                one_line(a),
                one_line(b)
            ));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majorities_and_a_reviewers_decisions() {
        // Person 1 holds entity 7 twice and entity 8 once; person 2 holds 7; person 3 holds 8.
        let labels = [(7, 1), (7, 1), (8, 1), (7, 2), (8, 3), (9, -5)];
        let m = majority_entities(&labels);
        assert_eq!(
            (m.get(&1), m.get(&2), m.get(&3), m.get(&-5)),
            (Some(&7), Some(&7), Some(&8), None)
        );
        // A tie goes to the smaller entity.
        assert_eq!(majority_entities(&[(4, 1), (3, 1)]).get(&1), Some(&3));
        let mut links = Links::default();
        let (acc, rej) = reviewer_decisions(&[(1, 2), (2, 3), (3, 3), (1, 99)], &m, &mut links);
        assert_eq!((acc, rej), (1, 2));
        assert_eq!(links.find(2), 1);
        assert_eq!(links.find(3), 3);
    }

    #[test]
    fn source_records_are_read_back() {
        let data = r#"{"given_name":null,"preferred_name":"Gary","family_name":"Baker","date_of_birth":"1967-01-01",
            "emails":[["g@x.com","g@x.com"]],"phones":[["+447915419767","mobile"]],
            "address":{"line1":"70 Queen's Road","postcode":"SE15 3NR"},"organisation":null}"#;
        let r = source_record(data).unwrap_or_default();
        assert_eq!(r.given.as_deref(), Some("Gary"));
        assert_eq!(r.dob, chrono::NaiveDate::from_ymd_opt(1967, 1, 1));
        assert_eq!((r.emails.len(), r.phones.len()), (1, 1));
        assert_eq!(r.postcode.as_deref(), Some("SE15 3NR"));
        assert!(source_record("not json").is_none());
    }

    #[test]
    fn person_pairs_of_entities() {
        let labels = [(1, 10), (1, 10), (1, 11), (1, 12), (2, 10), (2, 13), (3, 14)];
        let pairs = entity_person_pairs(&labels);
        assert_eq!(pairs.get(&(10, 11)), Some(&2));
        assert_eq!(pairs.get(&(10, 12)), Some(&2));
        assert_eq!(pairs.get(&(11, 12)), Some(&1));
        assert_eq!(pairs.get(&(10, 13)), Some(&1));
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn reasons_name_the_cause() {
        use crate::matching::MatchRecord;
        let t = Thresholds::default();
        let trained = matcher::Trained::shipped();
        let rec = |given: &str, dob: Option<chrono::NaiveDate>, phone: &str| {
            Prepared::from_record(&MatchRecord {
                given: Some(given.into()),
                family: Some("Featherstone".into()),
                dob,
                phones: vec![phone.into()],
                ..MatchRecord::default()
            })
        };
        let d = chrono::NaiveDate::from_ymd_opt(1970, 4, 3);
        let a = rec("William", d, "07700 900123");
        assert_eq!(reason(&a, &a.clone(), &trained, &t), "scores a link now");
        assert!(reason(&a, &rec("Zachary", None, "07700 900999"), &trained, &t).starts_with("only the names"));
        let far = Prepared::from_record(&MatchRecord {
            given: Some("Zachary".into()),
            family: Some("Other".into()),
            organisation: Some("Acme".into()),
            ..MatchRecord::default()
        });
        let acme = Prepared::from_record(&MatchRecord {
            organisation: Some("Acme Ltd".into()),
            ..MatchRecord::default()
        });
        assert_eq!(reason(&far, &acme, &trained, &t), "no shared blocking key");
        // An initial with a shared landline and date of birth: the guard holds it to review.
        let initial = rec("W", d, "020 7946 0123");
        let a = rec("William", d, "020 7946 0123");
        assert!(reason(&a, &initial, &trained, &t).starts_with("guard given_initial_only"));
        let mut reasons = Reasons::new();
        reasons.insert("x".into(), (3, 1));
        reasons.insert("y".into(), (5, 2));
        assert!(describe(&reasons, &Examples::new()).starts_with("         5 (    2)  y"));
    }
}
