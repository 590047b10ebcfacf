//! Scoring a record against the people held: the trained model (or the shipped default),
//! the configured thresholds, and proposals for the review queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::index;
use crate::config::MatchingSettings;
use crate::db::schema::{match_candidates, match_models};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::matching::{decide, Decision, FrequencyTable, Model, Prepared, Score, Thresholds};
use crate::service::new_public_id;

/// The name of the model row the service uses.
pub const MODEL_NAME: &str = "default";

/// A model with the value frequencies it was trained with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trained {
    /// m/u parameters and prior.
    pub model: Model,
    /// Value frequencies (term-frequency adjustments).
    pub tf: FrequencyTable,
}

impl Trained {
    /// The shipped model, with no frequencies (works on a nearly empty database).
    pub fn shipped() -> Trained {
        Trained {
            model: Model::default_uk(),
            tf: FrequencyTable::default(),
        }
    }
}

/// The trained model as last loaded, with the training time it was loaded for. Derived data
/// only: every instance reloads it when the stored training time changes.
type Cached = Option<(Option<NaiveDateTime>, Arc<Trained>)>;

fn cache() -> &'static Mutex<Cached> {
    static CACHE: OnceLock<Mutex<Cached>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(None))
}

/// The model in use: the stored one when there is one, else the shipped default.
pub fn trained(conn: &mut DbConn) -> AppResult<Arc<Trained>> {
    let stamp: Option<NaiveDateTime> = match_models::table
        .filter(match_models::name.eq(MODEL_NAME))
        .select(match_models::trained_at)
        .get_result(conn)
        .optional()?;
    if let Ok(guard) = cache().lock() {
        if let Some((at, t)) = guard.as_ref() {
            if *at == stamp {
                return Ok(t.clone());
            }
        }
    }
    let loaded = match stamp {
        None => Trained::shipped(),
        Some(_) => {
            let text: String = match_models::table
                .filter(match_models::name.eq(MODEL_NAME))
                .select(match_models::model)
                .get_result(conn)?;
            match serde_json::from_str::<Trained>(&text) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "the stored matching model cannot be read; using the shipped one");
                    Trained::shipped()
                }
            }
        }
    };
    let loaded = Arc::new(loaded);
    if let Ok(mut guard) = cache().lock() {
        *guard = Some((stamp, loaded.clone()));
    }
    Ok(loaded)
}

/// Store a trained model (replacing the previous one).
pub fn save(conn: &mut DbConn, trained: &Trained, pairs: i64, at: NaiveDateTime) -> AppResult<()> {
    // Stored, it outlives erasures: no contact point and no rare name or postcode in it.
    let stored = Trained {
        model: trained.model.clone(),
        tf: trained.tf.clone().for_storage(),
    };
    let text = serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.to_string()))?;
    diesel::delete(match_models::table.filter(match_models::name.eq(MODEL_NAME))).execute(conn)?;
    diesel::insert_into(match_models::table)
        .values((
            match_models::name.eq(MODEL_NAME),
            match_models::model.eq(text),
            match_models::trained_at.eq(at),
            match_models::pairs.eq(pairs),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person held, scored against a record.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The person (internal id).
    pub person_id: i64,
    /// The score with per-field contributions.
    pub score: Score,
    /// Link, review or new person.
    pub decision: Decision,
}

/// Scores records against the people held.
pub struct Matcher {
    trained: Arc<Trained>,
    thresholds: Thresholds,
    max_candidates: usize,
}

impl Matcher {
    /// The matcher with the model in use and the configured thresholds.
    pub fn load(conn: &mut DbConn, settings: &MatchingSettings) -> AppResult<Matcher> {
        Ok(Matcher {
            trained: trained(conn)?,
            thresholds: thresholds(settings),
            max_candidates: usize::try_from(settings.max_candidates).unwrap_or(1).max(1),
        })
    }

    /// A matcher with a given model (a dedupe pass that has just trained one).
    pub fn with(trained: Trained, settings: &MatchingSettings) -> Matcher {
        Matcher {
            trained: Arc::new(trained),
            thresholds: thresholds(settings),
            max_candidates: usize::try_from(settings.max_candidates).unwrap_or(1).max(1),
        }
    }

    /// Score a pair of prepared records.
    pub fn score(&self, a: &Prepared, b: &Prepared) -> (Score, Decision) {
        let s = self.trained.model.score(a, b, &self.trained.tf);
        let d = decide(&s, &self.thresholds);
        (s, d)
    }

    /// People who may be this record (review level or above), best first: links before
    /// reviews (a guarded pair can have a higher probability than the right one), then by
    /// probability.
    pub fn matches(&self, conn: &mut DbConn, record: &Prepared, exclude: &[i64]) -> AppResult<Vec<Scored>> {
        let ids = index::candidates(conn, record, exclude, self.max_candidates)?;
        let found: Vec<(i64, Prepared)> = index::records_of(conn, &ids)?
            .into_iter()
            .map(|(id, r)| (id, Prepared::from_record(&r)))
            .collect();
        Ok(self.ranked(record, found.iter().map(|(id, p)| (*id, p))))
    }

    /// [`Matcher::matches`] for several records at once, none excluded (an import's dry run, a
    /// chunk of rows at a time): the same answers, with the candidates' look-ups and loads
    /// shared by the whole chunk.
    pub fn matches_many(&self, conn: &mut DbConn, records: &[&Prepared]) -> AppResult<Vec<Vec<Scored>>> {
        let ids = index::candidates_many(conn, records, self.max_candidates)?;
        let mut all: Vec<i64> = ids.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let mut loaded: HashMap<i64, Prepared> = HashMap::with_capacity(all.len());
        for part in all.chunks(500) {
            for (id, r) in index::records_of(conn, part)? {
                loaded.insert(id, Prepared::from_record(&r));
            }
        }
        Ok(records
            .iter()
            .zip(&ids)
            .map(|(record, cands)| self.ranked(record, cands.iter().filter_map(|id| loaded.get(id).map(|p| (*id, p)))))
            .collect())
    }

    /// Score `record` against each candidate; those that are not a new person, best first.
    fn ranked<'a>(&self, record: &Prepared, candidates: impl Iterator<Item = (i64, &'a Prepared)>) -> Vec<Scored> {
        let mut out: Vec<Scored> = candidates
            .filter_map(|(person_id, other)| {
                let (score, decision) = self.score(record, other);
                (decision != Decision::NewPerson).then_some(Scored {
                    person_id,
                    score,
                    decision,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.decision
                .rank()
                .cmp(&a.decision.rank())
                .then(b.score.probability.total_cmp(&a.score.probability))
                .then(a.person_id.cmp(&b.person_id))
        });
        out
    }
}

/// The configured thresholds.
pub fn thresholds(settings: &MatchingSettings) -> Thresholds {
    Thresholds {
        link: settings.link_threshold,
        review: settings.review_threshold,
    }
}

/// The stored explanation of a score: every field's level and weight, the prior, the guards.
pub fn explanation(score: &Score) -> String {
    serde_json::to_string(score).unwrap_or_else(|_| "{}".into())
}

/// Propose a pair for review unless the pair was already proposed or decided (a rejected pair
/// is never proposed again). Returns whether a proposal was made.
pub fn propose(conn: &mut DbConn, a: i64, b: i64, score: &Score, origin: &str, now: NaiveDateTime) -> AppResult<bool> {
    if a == b {
        return Ok(false);
    }
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let row = (
        match_candidates::public_id.eq(new_public_id()),
        match_candidates::person_a.eq(lo),
        match_candidates::person_b.eq(hi),
        match_candidates::probability.eq(score.probability),
        match_candidates::match_weight.eq(score.match_weight),
        match_candidates::explanation.eq(explanation(score)),
        match_candidates::status.eq("pending"),
        match_candidates::origin.eq(origin),
        match_candidates::created_at.eq(now),
    );
    let n = crate::with_backend!(conn, |c| diesel::insert_into(match_candidates::table)
        .values(&row)
        .on_conflict((match_candidates::person_a, match_candidates::person_b))
        .do_nothing()
        .execute(c))?;
    Ok(n > 0)
}

/// Pending proposals involving these people are superseded (they were merged or erased);
/// returns the ids of the proposals closed.
pub fn supersede_pending(conn: &mut DbConn, ids: &[i64], now: NaiveDateTime) -> AppResult<Vec<i64>> {
    let closed: Vec<i64> = match_candidates::table
        .filter(match_candidates::status.eq("pending"))
        .filter(
            match_candidates::person_a
                .eq_any(ids)
                .or(match_candidates::person_b.eq_any(ids)),
        )
        .select(match_candidates::id)
        .order(match_candidates::id)
        .load(conn)?;
    for part in closed.chunks(500) {
        diesel::update(match_candidates::table.filter(match_candidates::id.eq_any(part)))
            .set((
                match_candidates::status.eq("superseded"),
                match_candidates::decided_at.eq(Some(now)),
            ))
            .execute(conn)?;
    }
    Ok(closed)
}

/// Put proposals a merge closed back in the queue once its unmerge has made both their people
/// live again (a proposal decided since, or about someone merged or erased since, stays as it is).
pub fn reopen_superseded(conn: &mut DbConn, ids: &[i64]) -> AppResult<usize> {
    let mut reopened = 0;
    for part in ids.chunks(500) {
        let rows: Vec<(i64, i64, i64)> = match_candidates::table
            .filter(match_candidates::id.eq_any(part))
            .filter(match_candidates::status.eq("superseded"))
            .select((
                match_candidates::id,
                match_candidates::person_a,
                match_candidates::person_b,
            ))
            .load(conn)?;
        let mut people: Vec<i64> = rows.iter().flat_map(|r| [r.1, r.2]).collect();
        people.sort_unstable();
        people.dedup();
        let live: std::collections::HashSet<i64> = crate::db::people::find_many(conn, &people)?
            .into_iter()
            .filter(|p| matches!(p.status.as_str(), "active" | "restricted"))
            .map(|p| p.id)
            .collect();
        let open: Vec<i64> = rows
            .iter()
            .filter(|r| live.contains(&r.1) && live.contains(&r.2))
            .map(|r| r.0)
            .collect();
        reopened += diesel::update(match_candidates::table.filter(match_candidates::id.eq_any(&open)))
            .set((
                match_candidates::status.eq("pending"),
                match_candidates::decided_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(reopened)
}
