//! The whole-database pass (`lighthouse dedupe`): find the duplicates among the people held.
//!
//! 1. Read every matchable person once, in id order, in chunks; prepare their match records
//!    and write the blocking keys of anyone who has none yet (people written in bulk).
//! 2. Block in memory: sort (key hash, person) and pair the people within each block; a block
//!    larger than `block_cap` (a tower block's postcode with a common initial) is skipped, its
//!    pairs being found through the other keys.
//! 3. Optionally re-train the model (`--train`): u from random pairs, m by EM on the candidate
//!    pairs, value frequencies from everyone; stored for the service to use.
//! 4. Score every candidate pair (on every core), skip pairs already decided (pending proposals
//!    are scored again), link pairs above the link threshold (merged into the oldest record,
//!    reversibly) and propose pairs between the thresholds for review; a proposal about someone
//!    this pass merges is made about their survivor.
//!
//! Memory is proportional to the number of people (their prepared records and key hashes),
//! about 1 GB for a million; the database is read in chunks and written in batches.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use diesel::prelude::*;
use serde::Serialize;

use super::index::{digest, insert_keys, records_in_range, walk_people};
use super::matcher::{self, Matcher, Trained};
use super::{merge_people, MergeRequest};
use crate::config::MatchingSettings;
use crate::db::schema::{match_candidates, people};
use crate::db::{write_tx, DbConn};
use crate::error::AppResult;
use crate::matching::{blocking_keys as keys_of, compare, em, Decision, FrequencyTable, Model, Prepared};
use crate::service::privacy::keys::PointHasher;
use crate::service::{Ctx, Principal, RequestMeta};

/// People read per chunk.
const CHUNK: i64 = 5_000;
/// Keys of unindexed people gathered before they are written, sorted, in one transaction.
/// Each key lands on a random page of the key index, so a small write dirties about one page
/// per key; a large sorted one puts many on each page it touches. 500,000 keys hold about
/// 40 MB and the write lock for a second or two.
const KEY_FLUSH: usize = 500_000;

/// Write gathered keys in key order, in one transaction, and empty the list.
fn flush_keys(conn: &mut DbConn, keys: &mut Vec<(String, i64)>) -> AppResult<()> {
    keys.sort_unstable();
    write_tx(conn, |c| insert_keys(c, keys))?;
    keys.clear();
    Ok(())
}

/// How a pass runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Re-estimate the model from the data before scoring.
    pub train: bool,
    /// Count only: no keys, proposals, merges or model are written.
    pub dry_run: bool,
    /// Blocks with more people than this are skipped.
    pub block_cap: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            train: false,
            dry_run: false,
            block_cap: 64,
        }
    }
}

/// What a pass found and did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Matchable people read.
    pub people: u64,
    /// People whose blocking keys were written by this pass.
    pub indexed: u64,
    /// Blocks skipped as too large.
    pub oversized_blocks: u64,
    /// Candidate pairs scored.
    pub pairs: u64,
    /// Pairs at or above the link threshold.
    pub links: u64,
    /// Pairs proposed for review.
    pub proposals: u64,
    /// People merged into another.
    pub merged: u64,
    /// Whether the model was re-trained.
    pub trained: bool,
    /// Seconds per phase.
    pub seconds: Vec<(String, f64)>,
}

fn fast_hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// `f` over `items` split into one part per core; results in order.
fn on_every_core<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).max(1);
    let per = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(per).map(|part| s.spawn(move || f(part))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Prepared records and raw keys of a chunk.
fn prepare(records: Vec<(i64, crate::matching::MatchRecord)>) -> Vec<(i64, Prepared, Vec<String>)> {
    on_every_core(&records, |part| {
        part.iter()
            .map(|(id, r)| {
                let p = Prepared::from_record(r);
                let k = keys_of(&p);
                (*id, p, k)
            })
            .collect()
    })
}

/// Score pairs; keep those at review level or above.
fn score_pairs(
    matcher: &Matcher,
    preps: &[Prepared],
    pairs: &[u64],
) -> Vec<(u32, u32, crate::matching::Score, Decision)> {
    on_every_core(pairs, |part| {
        part.iter()
            .filter_map(|&pair| {
                let (i, j) = ((pair >> 32) as u32, pair as u32);
                let (score, d) = matcher.score(&preps[i as usize], &preps[j as usize]);
                (d != Decision::NewPerson).then_some((i, j, score, d))
            })
            .collect()
    })
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

/// Train the model: u from random pairs, m by EM on (a sample of) the candidate pairs.
fn train(preps: &[Prepared], pairs: &[u64], start: &Model) -> Model {
    let n = preps.len() as u64;
    let mut rng = crate::synth::rng::SplitMix64::new(0x9E37_79B9_7F4A_7C15);
    let random: Vec<_> = (0..200_000)
        .filter_map(|_| {
            let (i, j) = (rng.below(n) as usize, rng.below(n) as usize);
            (i != j).then(|| compare(&preps[i], &preps[j]))
        })
        .collect();
    let step = (pairs.len() / 500_000).max(1);
    let blocked: Vec<_> = pairs
        .iter()
        .step_by(step)
        .map(|&p| compare(&preps[(p >> 32) as usize], &preps[(p as u32) as usize]))
        .collect();
    em::estimate(&blocked, &random, start, 25)
}

/// Run a pass. `progress` gets (phase, done, total).
pub fn run(
    conn: &mut DbConn,
    points: &PointHasher,
    settings: &MatchingSettings,
    opts: &Options,
    mut progress: impl FnMut(&str, u64, u64),
) -> AppResult<Report> {
    let mut report = Report::default();
    let mut clock = Instant::now();
    let mut lap = |report: &mut Report, phase: &str| {
        report.seconds.push((phase.to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let total: i64 = people::table
        .filter(people::status.eq_any(["active", "restricted"]))
        .count()
        .get_result(conn)?;
    let total = u64::try_from(total).unwrap_or(0);

    // 1. Read, prepare, index.
    let mut ids: Vec<i64> = Vec::new();
    let mut preps: Vec<Prepared> = Vec::new();
    let mut entries: Vec<(u64, u32)> = Vec::new();
    let mut missing: Vec<(String, i64)> = Vec::new();
    walk_people(conn, CHUNK, |conn, chunk| -> AppResult<()> {
        let (first, last) = chunk.bounds();
        for (id, p, keys) in prepare(records_in_range(conn, first, last)?) {
            let idx = u32::try_from(preps.len()).unwrap_or(u32::MAX);
            for k in &keys {
                entries.push((fast_hash(k), idx));
            }
            if !chunk.keyed.contains(&id) && !keys.is_empty() {
                if !opts.dry_run {
                    missing.extend(keys.iter().map(|k| (digest(k), id)));
                }
                report.indexed += 1;
            }
            ids.push(id);
            preps.push(p);
        }
        if missing.len() >= KEY_FLUSH {
            flush_keys(conn, &mut missing)?;
        }
        progress("read", ids.len() as u64, total);
        Ok(())
    })?;
    if !missing.is_empty() {
        flush_keys(conn, &mut missing)?;
    }
    report.people = ids.len() as u64;
    lap(&mut report, "read");

    // 2. Block.
    entries.sort_unstable();
    let mut pairs: Vec<u64> = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == entries[start].0 {
            end += 1;
        }
        let block = &entries[start..end];
        if block.len() > opts.block_cap {
            report.oversized_blocks += 1;
        } else {
            for (x, a) in block.iter().enumerate() {
                for b in &block[x + 1..] {
                    let (lo, hi) = if a.1 < b.1 { (a.1, b.1) } else { (b.1, a.1) };
                    if lo != hi {
                        pairs.push((u64::from(lo) << 32) | u64::from(hi));
                    }
                }
            }
        }
        start = end;
    }
    drop(entries);
    pairs.sort_unstable();
    pairs.dedup();
    report.pairs = pairs.len() as u64;
    lap(&mut report, "block");

    // 3. Model.
    let tf = FrequencyTable::from_records(&preps);
    let current = matcher::trained(conn)?;
    let model = if opts.train && !preps.is_empty() {
        report.trained = true;
        train(&preps, &pairs, &Model::default_uk())
    } else {
        current.model.clone()
    };
    if report.trained && !opts.dry_run {
        let stored = Trained {
            model: model.clone(),
            tf: tf.clone().for_storage(),
        };
        matcher::save(conn, &stored, report.pairs as i64, crate::db::now())?;
    }
    // This pass scores with the full frequencies (shared mailboxes and switchboards count less).
    let matcher = Matcher::with(Trained { model, tf }, settings);
    lap(&mut report, "model");

    // 4. Score and decide.
    let found = score_pairs(&matcher, &preps, &pairs);
    drop(pairs);
    // Decided pairs (accepted, rejected, superseded) are never scored again; pending ones are,
    // so that one now above the link threshold is linked and one about a person merged away
    // moves to the survivor.
    let decided: HashSet<(i64, i64)> = match_candidates::table
        .filter(match_candidates::status.ne("pending"))
        .select((match_candidates::person_a, match_candidates::person_b))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let mut parent: Vec<u32> = (0..preps.len() as u32).collect();
    let mut reviews = Vec::new();
    let mut linked = Vec::new();
    for (i, j, score, d) in found {
        let (a, b) = (ids[i as usize], ids[j as usize]);
        if decided.contains(&(a.min(b), a.max(b))) {
            continue;
        }
        match d {
            Decision::Link => {
                report.links += 1;
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                if ri != rj {
                    parent[ri.max(rj) as usize] = ri.min(rj);
                }
                linked.push((a, b, score));
            }
            _ => reviews.push((a, b, score)),
        }
    }
    lap(&mut report, "score");

    // 5. Write: merges (into the oldest record of each cluster) and proposals.
    let mut clusters: HashMap<u32, Vec<u32>> = HashMap::new();
    for i in 0..preps.len() as u32 {
        let r = find(&mut parent, i);
        if r != i {
            clusters.entry(r).or_default().push(i);
        }
    }
    let merged_away: HashSet<i64> = clusters.values().flatten().map(|&i| ids[i as usize]).collect();
    if !opts.dry_run {
        let now = crate::db::now();
        let ctx = Ctx {
            principal: Principal::system("dedupe"),
            meta: RequestMeta::system(now),
            points: points.clone(),
            matching: settings.clone(),
        };
        let public: HashMap<i64, String> = {
            let wanted: Vec<i64> = clusters
                .iter()
                .flat_map(|(r, v)| std::iter::once(r).chain(v.iter()))
                .map(|&i| ids[i as usize])
                .collect();
            let mut m = HashMap::new();
            for part in wanted.chunks(5_000) {
                let rows: Vec<(i64, String)> = people::table
                    .filter(people::id.eq_any(part))
                    .select((people::id, people::public_id))
                    .load(conn)?;
                m.extend(rows);
            }
            m
        };
        // The links are recorded with their score and explanation first; each merge then marks
        // its pair accepted.
        for part in linked.chunks(1_000) {
            write_tx(conn, |c| -> AppResult<()> {
                for (a, b, score) in part {
                    matcher::propose(c, *a, *b, score, "dedupe", now)?;
                }
                Ok(())
            })?;
        }
        let mut done = 0u64;
        let n_clusters = clusters.len() as u64;
        for (root, members) in &clusters {
            let survivor = &public[&ids[*root as usize]];
            for part in members.chunks(20) {
                let merge: Vec<String> = part.iter().map(|&i| public[&ids[i as usize]].clone()).collect();
                let req = MergeRequest {
                    merge,
                    fields: HashMap::new(),
                    survivorship: None,
                };
                merge_people(conn, &ctx, survivor, &req, &settings.survivorship)?;
                report.merged += part.len() as u64;
            }
            done += 1;
            progress("merge", done, n_clusters);
        }
        // A proposal about someone merged away is about their survivor now: it is kept
        // between the two clusters (once per pair, the best score), unless they are one.
        let index: HashMap<i64, u32> = ids.iter().enumerate().map(|(i, id)| (*id, i as u32)).collect();
        let mut root_of = |id: i64| index.get(&id).map_or(id, |&i| ids[find(&mut parent, i) as usize]);
        let mut best: HashMap<(i64, i64), crate::matching::Score> = HashMap::new();
        for (a, b, score) in reviews {
            let (ra, rb) = (root_of(a), root_of(b));
            if ra == rb {
                continue;
            }
            let key = (ra.min(rb), ra.max(rb));
            if decided.contains(&key) {
                continue;
            }
            let slot = best.entry(key).or_insert_with(|| score.clone());
            if score.probability > slot.probability {
                *slot = score;
            }
        }
        let mut reviews: Vec<(i64, i64, crate::matching::Score)> =
            best.into_iter().map(|((a, b), s)| (a, b, s)).collect();
        reviews.sort_by_key(|r| (r.0, r.1));
        for part in reviews.chunks(1_000) {
            let made = write_tx(conn, |c| -> AppResult<u64> {
                let mut n = 0;
                for (a, b, score) in part {
                    if matcher::propose(c, *a, *b, score, "dedupe", now)? {
                        n += 1;
                    }
                }
                Ok(n)
            })?;
            report.proposals += made;
        }
    } else {
        report.proposals = reviews.len() as u64;
        report.merged = merged_away.len() as u64;
    }
    lap(&mut report, "write");
    Ok(report)
}
