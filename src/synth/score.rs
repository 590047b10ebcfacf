//! `lighthouse synth-score`: how well the service resolved the identities of lists written by
//! [`synth-copies`](super::copies), against their truth.
//!
//! Policy:
//! - A record is a row of `source_records`, named by department code and external id as in
//!   `truth.csv`. The service's clustering puts each record with the person it ended at
//!   (following `merged_into` to the survivor); the truth puts it with its entity. Records in
//!   the truth that are not in the database (rejected, or not imported yet) are counted and left
//!   out; so are database rows the truth does not name.
//! - Pairwise measures: a pair of records is predicted when both are with the same person, true
//!   when both are the same entity. Precision = correct ÷ predicted pairs, recall = correct ÷
//!   true pairs, F1 their harmonic mean; an empty denominator counts as 1 (nothing claimed,
//!   nothing wrong). Pairs are counted from cluster sizes (sum of C(n, 2) over the clusters and
//!   over the cells of the contingency table), never enumerated.
//! - A second figure counts pending review proposals (`match_candidates` with status
//!   `pending`) as links, joining their people (union–find): what a reviewer accepting every
//!   proposal would get.
//! - A third figure takes a reviewer's decisions instead: a proposal is accepted when both its
//!   people hold mostly records of one entity ([`review`]). Then the true pairs still apart,
//!   and those only a reviewer joined, are broken down by why the matcher did not link them.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use diesel::prelude::*;

use crate::db::schema::{departments, match_candidates, people, source_records};
use crate::db::{DbConn, DbPool};

mod review;

/// Arguments of `lighthouse synth-score`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// The `truth.csv` written by `lighthouse synth-copies`.
    #[arg(long)]
    pub truth: PathBuf,
    /// Show up to this many example pairs (their match records) for each reason a true pair
    /// was missed.
    #[arg(long, default_value_t = 0)]
    pub examples: usize,
}

/// The pairwise agreement of a predicted clustering with the true one, over the same records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairCounts {
    /// Records scored.
    pub records: u64,
    /// Distinct true labels.
    pub true_clusters: u64,
    /// Distinct predicted labels.
    pub predicted_clusters: u64,
    /// Pairs of records with the same true label.
    pub true_pairs: u64,
    /// Pairs of records with the same predicted label.
    pub predicted_pairs: u64,
    /// Pairs with both labels the same.
    pub correct_pairs: u64,
}

impl PairCounts {
    /// Correct ÷ predicted pairs (1 when nothing is predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.correct_pairs, self.predicted_pairs)
    }

    /// Correct ÷ true pairs (1 when there are none).
    pub fn recall(&self) -> f64 {
        ratio(self.correct_pairs, self.true_pairs)
    }

    /// The harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }

    /// The counts and measures on two lines, for the command's output.
    pub fn describe(&self) -> String {
        format!(
            "  records {}, true entities {}, predicted clusters {}, true pairs {}, predicted pairs {}, \
             correct pairs {}\n  precision {:.4}  recall {:.4}  F1 {:.4}",
            self.records,
            self.true_clusters,
            self.predicted_clusters,
            self.true_pairs,
            self.predicted_pairs,
            self.correct_pairs,
            self.precision(),
            self.recall(),
            self.f1()
        )
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// C(n, 2), saturating.
fn pairs(n: u64) -> u64 {
    u64::try_from(u128::from(n) * u128::from(n.saturating_sub(1)) / 2).unwrap_or(u64::MAX)
}

fn sum_pairs<K>(sizes: &HashMap<K, u64>) -> u64 {
    sizes.values().fold(0u64, |acc, n| acc.saturating_add(pairs(*n)))
}

/// Pairwise counts of `(true label, predicted label)` per record.
pub fn pair_counts<T, P>(labels: impl IntoIterator<Item = (T, P)>) -> PairCounts
where
    T: Hash + Eq + Clone,
    P: Hash + Eq + Clone,
{
    let mut truth: HashMap<T, u64> = HashMap::new();
    let mut predicted: HashMap<P, u64> = HashMap::new();
    let mut both: HashMap<(T, P), u64> = HashMap::new();
    let mut records = 0u64;
    for (t, p) in labels {
        records += 1;
        *truth.entry(t.clone()).or_default() += 1;
        *predicted.entry(p.clone()).or_default() += 1;
        *both.entry((t, p)).or_default() += 1;
    }
    PairCounts {
        records,
        true_clusters: truth.len() as u64,
        predicted_clusters: predicted.len() as u64,
        true_pairs: sum_pairs(&truth),
        predicted_pairs: sum_pairs(&predicted),
        correct_pairs: sum_pairs(&both),
    }
}

/// Union–find over person ids; the smaller id of a set is its representative.
#[derive(Debug, Default)]
pub struct Links {
    parent: HashMap<i64, i64>,
}

impl Links {
    /// The representative of `x`'s set (`x` itself when never joined).
    pub fn find(&mut self, x: i64) -> i64 {
        let mut root = x;
        while let Some(&p) = self.parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        // Path compression: point every id on the way straight at the root.
        let mut at = x;
        while at != root {
            let next = self.parent.get(&at).copied().unwrap_or(root);
            self.parent.insert(at, root);
            at = next;
        }
        root
    }

    /// Join the sets of `a` and `b`.
    pub fn union(&mut self, a: i64, b: i64) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent.insert(ra.max(rb), ra.min(rb));
        }
    }
}

/// The person `id` ended at, following `merged_into` (a cycle, which should not exist, stops
/// at the person where it closes).
pub fn survivor(id: i64, merged_into: &HashMap<i64, i64>) -> i64 {
    let mut at = id;
    for _ in 0..=merged_into.len() {
        match merged_into.get(&at) {
            Some(&next) if next != at => at = next,
            _ => break,
        }
    }
    at
}

/// The truth: entity (interned) by `department \x1f external_id`.
struct Truth {
    entity_of: HashMap<String, u32>,
    entities: usize,
}

fn key(department: &str, external_id: &str) -> String {
    format!("{department}\u{1f}{external_id}")
}

fn read_truth(path: &Path) -> Result<Truth, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let mut reader = csv::Reader::from_path(path).map_err(|e| at(&e))?;
    let headers = reader.headers().map_err(|e| at(&e))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| at(&format!("no `{name}` column (expected department,external_id,entity)")))
    };
    let (d, x, e) = (column("department")?, column("external_id")?, column("entity")?);
    let mut entity_of = HashMap::new();
    let mut interned: HashMap<String, u32> = HashMap::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| at(&e))?;
        let (Some(dept), Some(ext), Some(entity)) = (row.get(d), row.get(x), row.get(e)) else {
            return Err(at(&format!("row {} has too few cells", n + 2)));
        };
        let next = u32::try_from(interned.len()).map_err(|_| at(&"too many entities"))?;
        let id = *interned.entry(entity.to_string()).or_insert(next);
        if entity_of.insert(key(dept, ext), id).is_some() {
            return Err(at(&format!("row {}: {dept} {ext} is listed twice", n + 2)));
        }
    }
    Ok(Truth {
        entity_of,
        entities: interned.len(),
    })
}

/// One row of `source_records` with its department and person.
type SourceRow = (i64, String, Option<String>, Option<i64>, Option<i64>, Option<String>);

const PAGE: i64 = 50_000;

/// Source records after `after` (by id), a page at a time.
fn source_page(conn: &mut DbConn, after: i64) -> QueryResult<Vec<SourceRow>> {
    source_records::table
        .inner_join(departments::table)
        .left_join(people::table)
        .filter(source_records::id.gt(after))
        .order(source_records::id.asc())
        .limit(PAGE)
        .select((
            source_records::id,
            departments::code,
            source_records::external_id,
            source_records::person_id,
            people::merged_into.nullable(),
            people::status.nullable(),
        ))
        .load(conn)
}

/// `merged_into` of every merged person.
fn merged_people(conn: &mut DbConn) -> QueryResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, Option<i64>)> = people::table
        .filter(people::merged_into.is_not_null())
        .select((people::id, people::merged_into))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, to)| Some((id, to?))).collect())
}

fn pending_proposals(conn: &mut DbConn) -> QueryResult<Vec<(i64, i64)>> {
    match_candidates::table
        .filter(match_candidates::status.eq("pending"))
        .select((match_candidates::person_a, match_candidates::person_b))
        .load(conn)
}

/// What was read from the database for the records of the truth.
#[derive(Debug, Default)]
struct Scored {
    /// (entity, person id the record ended at; minus the record id when it has no person).
    labels: Vec<(u32, i64)>,
    /// Database rows the truth does not name (or names twice).
    outside: u64,
    /// Records by the status of their own person.
    statuses: std::collections::BTreeMap<String, u64>,
}

fn scored_records(conn: &mut DbConn, truth: &mut Truth, merged: &HashMap<i64, i64>) -> QueryResult<Scored> {
    let mut out = Scored::default();
    let mut after = 0;
    loop {
        let page = source_page(conn, after)?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (id, code, external_id, person, merged_into, status) in page {
            let entity = external_id.and_then(|x| truth.entity_of.remove(&key(&code, &x)));
            let Some(entity) = entity else {
                out.outside += 1;
                continue;
            };
            *out.statuses.entry(status.unwrap_or_else(|| "none".into())).or_default() += 1;
            let label = match person {
                Some(p) => survivor(merged_into.unwrap_or(p), merged),
                None => -id,
            };
            out.labels.push((entity, label));
        }
    }
    Ok(out)
}

/// Run `lighthouse synth-score`.
pub fn run(pool: &DbPool, args: &ScoreArgs) -> Result<(), String> {
    let mut truth = read_truth(&args.truth)?;
    let in_truth = truth.entity_of.len();
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot get a database connection: {e}"))?;
    let db_err = |e: diesel::result::Error| format!("cannot read the records: {e}");
    let merged = merged_people(&mut conn).map_err(db_err)?;
    let scored = scored_records(&mut conn, &mut truth, &merged).map_err(db_err)?;
    if scored.labels.is_empty() {
        return Err(format!(
            "no record of {} is in the database ({} database rows, none named by the truth): \
             import the lists first (see benches/README.md)",
            args.truth.display(),
            scored.outside
        ));
    }
    let proposals = pending_proposals(&mut conn).map_err(db_err)?;
    let statuses: Vec<String> = scored.statuses.iter().map(|(s, n)| format!("{s} {n}")).collect();
    println!(
        "synth-score: truth {in_truth} records of {} entities; {} found in the database, {} not \
         (rejected or not imported); {} database rows outside the truth",
        truth.entities,
        scored.labels.len(),
        truth.entity_of.len(),
        scored.outside
    );
    println!("  records by the status of their person: {}", statuses.join(", "));
    println!("{}", pair_counts(scored.labels.iter().copied()).describe());
    let mut links = Links::default();
    for (a, b) in &proposals {
        links.union(survivor(*a, &merged), survivor(*b, &merged));
    }
    let linked = scored
        .labels
        .iter()
        .map(|&(t, p)| (t, if p > 0 { links.find(p) } else { p }));
    println!(
        "counting accepted proposals as links ({} pending proposals):",
        proposals.len()
    );
    println!("{}", pair_counts(linked).describe());
    let proposals: Vec<(i64, i64)> = proposals
        .iter()
        .map(|(a, b)| (survivor(*a, &merged), survivor(*b, &merged)))
        .collect();
    let majority = review::majority_entities(&scored.labels);
    let mut reviewed = Links::default();
    let (accepted, rejected) = review::reviewer_decisions(&proposals, &majority, &mut reviewed);
    let decided: Vec<(u32, i64)> = scored
        .labels
        .iter()
        .map(|&(t, p)| (t, if p > 0 { reviewed.find(p) } else { p }))
        .collect();
    println!(
        "with a reviewer's decisions ({} proposals to look at: {accepted} accepted as the same \
         entity, {rejected} rejected):",
        accepted + rejected
    );
    println!("{}", pair_counts(decided.iter().copied()).describe());
    explain_misses(&mut conn, &scored.labels, &mut reviewed, args.examples).map_err(db_err)
}

/// Print why the true pairs a reviewer would not join were missed, and why those only a
/// reviewer joins were not linked automatically.
fn explain_misses(conn: &mut DbConn, labels: &[(u32, i64)], reviewed: &mut Links, examples: usize) -> QueryResult<()> {
    let trained = crate::service::identity::matcher::trained(conn)
        .map(|t| (*t).clone())
        .unwrap_or_else(|_| crate::service::identity::matcher::Trained::shipped());
    let thresholds = crate::config::Settings::load(None)
        .map(|s| crate::service::identity::matcher::thresholds(&s.matching))
        .unwrap_or_default();
    let (mut missed, mut to_review) = (Vec::new(), Vec::new());
    for (pair, n) in review::entity_person_pairs(labels) {
        let joined = pair.0 > 0 && pair.1 > 0 && reviewed.find(pair.0) == reviewed.find(pair.1);
        if joined {
            to_review.push((pair, n));
        } else {
            missed.push((pair, n));
        }
    }
    for (title, pairs) in [
        ("true pairs still apart after a reviewer's decisions", missed),
        ("true pairs joined only by a reviewer", to_review),
    ] {
        let (reasons, shown) = review::classify(conn, &pairs, &trained, &thresholds, examples)?;
        let (records, people) = reasons.values().fold((0, 0), |(r, p), (x, y)| (r + x, p + y));
        println!("{title}: {records} record pairs ({people} pairs of people), why, as scored now:");
        if !reasons.is_empty() {
            println!("{}", review::describe(&reasons, &shown));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
