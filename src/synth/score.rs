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

use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use diesel::prelude::*;

use crate::db::schema::{departments, match_candidates, people, source_records};
use crate::db::{DbConn, DbPool};

/// Arguments of `lighthouse synth-score`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// The `truth.csv` written by `lighthouse synth-copies`.
    #[arg(long)]
    pub truth: PathBuf,
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The counts by looking at every pair, to check the formula against.
    fn brute_force(labels: &[(u8, u8)]) -> (u64, u64, u64) {
        let (mut t, mut p, mut c) = (0, 0, 0);
        for i in 0..labels.len() {
            for j in i + 1..labels.len() {
                let same_t = labels[i].0 == labels[j].0;
                let same_p = labels[i].1 == labels[j].1;
                t += u64::from(same_t);
                p += u64::from(same_p);
                c += u64::from(same_t && same_p);
            }
        }
        (t, p, c)
    }

    #[test]
    fn a_worked_example() {
        // Truth {a1 a2 a3} {b1 b2}; predicted {a1 a2} {a3 b1} {b2}.
        let labels = [("a", 1), ("a", 1), ("a", 2), ("b", 2), ("b", 3)];
        let c = pair_counts(labels);
        assert_eq!(
            c,
            PairCounts {
                records: 5,
                true_clusters: 2,
                predicted_clusters: 3,
                true_pairs: 4,
                predicted_pairs: 2,
                correct_pairs: 1,
            }
        );
        assert!((c.precision() - 0.5).abs() < 1e-12);
        assert!((c.recall() - 0.25).abs() < 1e-12);
        assert!((c.f1() - 1.0 / 3.0).abs() < 1e-12);
        assert!(c.describe().contains("precision 0.5000  recall 0.2500  F1 0.3333"));
    }

    #[test]
    fn empty_and_singleton_clusterings() {
        let none = pair_counts(Vec::<(u8, u8)>::new());
        assert_eq!((none.precision(), none.recall(), none.f1()), (1.0, 1.0, 1.0));
        // Everything apart while the truth has pairs: precise, recalls nothing.
        let apart = pair_counts([(1, 1), (1, 2), (1, 3)]);
        assert_eq!((apart.precision(), apart.recall(), apart.f1()), (1.0, 0.0, 0.0));
        assert_eq!(pairs(0), 0);
        assert_eq!(pairs(1), 0);
        assert_eq!(pairs(4), 6);
        assert_eq!(pairs(u64::MAX), u64::MAX);
    }

    #[test]
    fn survivors_follow_chains_and_stop_on_cycles() {
        let merged: HashMap<i64, i64> = [(1, 2), (2, 3), (7, 8), (8, 7)].into_iter().collect();
        assert_eq!(survivor(1, &merged), 3);
        assert_eq!(survivor(3, &merged), 3);
        assert_eq!(survivor(5, &merged), 5);
        assert!([7, 8].contains(&survivor(7, &merged)));
    }

    #[test]
    fn links_join_sets() {
        let mut l = Links::default();
        l.union(5, 9);
        l.union(9, 2);
        l.union(7, 8);
        assert_eq!((l.find(5), l.find(9), l.find(2)), (2, 2, 2));
        assert_eq!((l.find(7), l.find(8)), (7, 7));
        assert_eq!(l.find(100), 100);
        l.union(8, 5);
        assert_eq!(l.find(7), 2);
    }

    #[test]
    fn truth_files_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("lighthouse-score-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("truth.csv");
        let write = |text: &str| std::fs::write(&path, text).map(|_| ());
        assert!(write("entity,department,external_id\nE1,D1,x\nE1,D2,y\nE2,D1,z\n").is_ok());
        let t = read_truth(&path).map_err(|e| e.to_string());
        assert_eq!(t.as_ref().map(|t| (t.entity_of.len(), t.entities)), Ok((3, 2)));
        assert!(write("department,external_id,entity\nD1,x,1\nD1,x,2\n").is_ok());
        assert!(read_truth(&path).err().is_some_and(|e| e.contains("listed twice")));
        assert!(write("department,ref,entity\nD1,x,1\n").is_ok());
        assert!(read_truth(&path).err().is_some_and(|e| e.contains("external_id")));
        assert!(read_truth(&dir.join("missing.csv")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest! {
        #[test]
        fn cluster_sizes_give_the_pair_counts(labels in prop::collection::vec((0u8..6, 0u8..6), 0..40)) {
            let c = pair_counts(labels.iter().copied());
            prop_assert_eq!((c.true_pairs, c.predicted_pairs, c.correct_pairs), brute_force(&labels));
            prop_assert!(c.correct_pairs <= c.true_pairs.min(c.predicted_pairs));
            let swapped = pair_counts(labels.iter().map(|(t, p)| (*p, *t)));
            prop_assert_eq!(swapped.precision(), c.recall());
            let perfect = pair_counts(labels.iter().map(|(t, _)| (*t, *t)));
            prop_assert_eq!((perfect.precision(), perfect.recall(), perfect.f1()), (1.0, 1.0, 1.0));
        }
    }
}
