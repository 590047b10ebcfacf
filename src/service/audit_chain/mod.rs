//! The audit log's hash chain: tamper evidence for the record of who did what.
//!
//! Policy: a sealer (in `serve`, every `audit.seal_every_seconds`; or `lighthouse audit seal`, or
//! `POST /api/v1/audit/seals`) appends seals to `audit_seals`. A seal covers every audit event
//! after the previous seal's last one up to its own last one (at most [`MAX_BLOCK`] events), and
//! its hash is SHA-256 over the previous seal's hash, its place in the chain and every field of
//! every event it covers. Verification recomputes each seal from the events as they are now: an
//! event changed, removed or slipped in below the head, or a seal changed or removed from the
//! middle, no longer verifies. Removing seals from the end is caught by comparing the head with a
//! copy kept elsewhere: every seal is logged (`audit sealed`, with its hash) so the log store
//! holds one, and verification takes an expected seal (`expect_seq` and `expect_hash`).
//!
//! On PostgreSQL ids come from a sequence, so an event can commit after an event with a higher
//! id; the sealer leaves events younger than `audit.seal_grace_seconds` for later, so a
//! transaction still open cannot commit an event into a block already sealed. On SQLite writers
//! take turns and ids follow commits, so nothing waits. Two instances sealing at once cannot fork
//! the chain: the position is the seal's key, and the second insert of it fails.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::audit::{AuditEvent, EXACT_TIME};
use crate::db::audit_seals::{self, Seal};
use crate::db::{write_tx, DbConn};
use crate::error::{is_unique_violation, AppError, AppResult};
use diesel::QueryResult;

mod export;
pub use export::{check_export, export, ExportLine, ExportReport};

/// Most events one seal covers (a longer backlog makes several seals).
pub const MAX_BLOCK: i64 = 50_000;

/// The previous hash of the first seal.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A seal as the API shows it (and an export writes it).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SealView {
    /// Position in the chain (1, 2, 3 …).
    pub seq: i64,
    /// Covers events with ids above this …
    pub after_event_id: i64,
    /// … up to and including this.
    pub last_event_id: i64,
    /// Events covered.
    pub event_count: i64,
    /// The previous seal's hash.
    pub prev_hash: String,
    /// SHA-256 (hex) of the previous hash, the position and every covered event.
    pub hash: String,
    /// When it was made.
    pub sealed_at: DateTime<Utc>,
}

impl From<&Seal> for SealView {
    fn from(s: &Seal) -> Self {
        SealView {
            seq: s.seq,
            after_event_id: s.after_event_id,
            last_event_id: s.last_event_id,
            event_count: s.event_count,
            prev_hash: s.prev_hash.clone(),
            hash: s.hash.clone(),
            sealed_at: s.sealed_at.and_utc(),
        }
    }
}

/// What a sealing run did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SealReport {
    /// Seals made by this run.
    pub sealed: Vec<SealView>,
    /// The chain's head after the run (absent while nothing has been sealed).
    pub head: Option<SealView>,
    /// True when the run stopped at its most seals with events still to seal (the next run
    /// goes on).
    pub more: bool,
}

/// Something verification found wrong.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// The seal concerned, if one is.
    pub seq: Option<i64>,
    /// `seal_missing`, `chain_broken`, `events_changed`, `events_added`, `events_removed`,
    /// `expected_seal_missing`, `expected_hash_differs`; in an export also `stray_event`.
    pub code: String,
    /// In words.
    pub message: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Verification {
    /// True when no problem was found.
    pub ok: bool,
    /// Seals checked.
    pub seals_checked: i64,
    /// Events those seals cover.
    pub events_checked: i64,
    /// The first seal checked (1 unless `from_seq` was given).
    pub from_seq: i64,
    /// When the check stopped at `max_seals` before the head: the seal to go on from (pass it
    /// as `from_seq`); `None` when it reached the head.
    pub next_from_seq: Option<i64>,
    /// The chain's head.
    pub head: Option<SealView>,
    /// Events after the head, not sealed yet.
    pub unsealed_events: i64,
    /// When the oldest of them was made.
    pub oldest_unsealed_at: Option<DateTime<Utc>>,
    /// What is wrong, in chain order.
    pub problems: Vec<Problem>,
}

fn absorb(h: &mut Sha256, field: Option<&str>) {
    match field {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

/// Hashing of one block: the seal's header, then each event's fields in a fixed order (the time
/// as [`EXACT_TIME`]), each length-prefixed (absent values distinct from empty ones), then the
/// count.
struct BlockHasher {
    h: Sha256,
    count: i64,
}

impl BlockHasher {
    fn new(prev_hash: &str, seq: i64, after: i64, last: i64) -> Self {
        let mut h = Sha256::new();
        h.update(b"lighthouse audit seal v1\0");
        absorb(&mut h, Some(prev_hash));
        h.update(seq.to_be_bytes());
        h.update(after.to_be_bytes());
        h.update(last.to_be_bytes());
        BlockHasher { h, count: 0 }
    }

    fn event(&mut self, e: &AuditEvent) {
        let h = &mut self.h;
        h.update(e.id.to_be_bytes());
        absorb(h, Some(&e.occurred_at.format(EXACT_TIME).to_string()));
        absorb(h, e.actor_user_id.map(|u| u.to_string()).as_deref());
        absorb(h, Some(&e.actor));
        absorb(h, Some(&e.action));
        absorb(h, e.target_kind.as_deref());
        absorb(h, e.target_id.as_deref());
        absorb(h, Some(&e.outcome));
        absorb(h, e.client_addr.as_deref());
        absorb(h, e.request_id.as_deref());
        absorb(h, e.detail.as_deref());
        absorb(h, e.targets.as_deref());
        self.count += 1;
    }

    fn finish(mut self) -> (String, i64) {
        self.h.update(self.count.to_be_bytes());
        (hex::encode(self.h.finalize()), self.count)
    }
}

/// Hash the events a seal covers as they are now: (hash, count).
fn rehash(conn: &mut DbConn, prev_hash: &str, seq: i64, after: i64, last: i64) -> QueryResult<(String, i64)> {
    let mut hasher = BlockHasher::new(prev_hash, seq, after, last);
    audit_seals::each_event(conn, after, last, |e| {
        hasher.event(e);
        QueryResult::Ok(())
    })?;
    Ok(hasher.finish())
}

/// Seal what is ready: every event after the head whose id is final (on PostgreSQL, no
/// transaction still open holds a lower one: see [`audit_seals::settled_up_to`]; and, when
/// `grace` is set, made at least `grace` before `now`), in blocks of at most [`MAX_BLOCK`], each
/// seal written in a short transaction of its own, at most `max_seals` of them. Another sealer's
/// seal made meanwhile ends the run quietly.
pub fn seal(conn: &mut DbConn, now: NaiveDateTime, grace: Duration, max_seals: usize) -> AppResult<SealReport> {
    let made_by = match conn {
        DbConn::Pg(_) if grace > Duration::zero() => Some(now - grace),
        _ => None,
    };
    let mut sealed = Vec::new();
    // With the gate still taken, no id counts as final: nothing is sealed this run.
    let settled = audit_seals::settled_up_to(conn)?.unwrap_or_else(|| {
        tracing::info!("audit events are still being written in a long transaction: sealing waits for the next run");
        0
    });
    let mut more = false;
    loop {
        // The events are read and hashed outside the write transaction (sealed events never
        // change, and on SQLite the lock would hold every other writer up meanwhile); the seal is
        // written only if the head is still the one it follows.
        let head = audit_seals::head(conn)?;
        let (seq, after, prev) = match &head {
            Some(h) => (h.seq + 1, h.last_event_id, h.hash.clone()),
            None => (1, 0, GENESIS.to_string()),
        };
        let Some(last) = audit_seals::next_block_end(conn, after, MAX_BLOCK, settled, made_by)? else {
            break;
        };
        if sealed.len() == max_seals {
            more = true;
            break;
        }
        let (hash, event_count) = rehash(conn, &prev, seq, after, last)?;
        let seal = Seal {
            seq,
            after_event_id: after,
            last_event_id: last,
            event_count,
            prev_hash: prev,
            hash,
            sealed_at: now,
        };
        let outcome = write_tx(conn, |c| -> QueryResult<Option<Seal>> {
            if audit_seals::head(c)?.map(|h| h.seq) != head.as_ref().map(|h| h.seq) {
                return Ok(None);
            }
            audit_seals::insert(c, &seal)?;
            Ok(Some(seal))
        });
        match outcome {
            Ok(Some(seal)) => {
                tracing::info!(
                    seq = seal.seq,
                    hash = %seal.hash,
                    last_event_id = seal.last_event_id,
                    events = seal.event_count,
                    "audit sealed"
                );
                sealed.push(SealView::from(&seal));
            }
            // Another sealer's seal came first: it sealed these events.
            Ok(None) => break,
            Err(e) if is_unique_violation(&e) => {
                tracing::debug!("another instance sealed the audit log at the same moment");
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let head = audit_seals::head(conn)?.as_ref().map(SealView::from);
    Ok(SealReport { sealed, head, more })
}

/// What verification is asked to check.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// Start at this seal, taking the hash of the one before as given (default: the first).
    pub from_seq: Option<i64>,
    /// A seal known from elsewhere (the log store, an export): it must be in the chain with
    /// this hash.
    pub expect: Option<(i64, String)>,
    /// Check at most this many seals; the answer says where to go on (`next_from_seq`).
    pub max_seals: Option<i64>,
}

fn problem(seq: Option<i64>, code: &str, message: String) -> Problem {
    Problem {
        seq,
        code: code.into(),
        message,
    }
}

/// The problem, if any, with a seal known from elsewhere (`seq`, `hash`) given the hash the chain
/// holds at `seq` (`None`: no such seal).
fn against_expected(seq: i64, hash: &str, found: Option<&str>) -> Option<Problem> {
    match found {
        None => Some(problem(
            Some(seq),
            "expected_seal_missing",
            format!("Seal {seq}, known from elsewhere, is not in the chain: seals were removed from its end."),
        )),
        Some(h) if !h.eq_ignore_ascii_case(hash) => Some(problem(
            Some(seq),
            "expected_hash_differs",
            format!("Seal {seq} has hash {h}, not the {hash} known from elsewhere."),
        )),
        Some(_) => None,
    }
}

/// Check the chain from `from_seq` (default 1) to the head against the events as they are now.
pub fn verify(conn: &mut DbConn, req: &VerifyRequest) -> AppResult<Verification> {
    let from_seq = req.from_seq.unwrap_or(1).max(1);
    let mut problems = Vec::new();
    let mut prev: Option<Seal> = match from_seq {
        1 => None,
        n => Some(audit_seals::find(conn, n - 1)?.ok_or_else(|| {
            AppError::field(
                "from_seq",
                "unknown_seal",
                format!("There is no seal {} to start after.", n - 1),
            )
        })?),
    };
    let (mut seals_checked, mut events_checked) = (0i64, 0i64);
    let max = req.max_seals.unwrap_or(i64::MAX).max(1);
    let mut cursor = from_seq - 1;
    let mut next_from_seq = None;
    'pages: loop {
        let page = audit_seals::after(conn, cursor, 500)?;
        if page.is_empty() {
            break;
        }
        for seal in page {
            if seals_checked == max {
                next_from_seq = Some(seal.seq);
                break 'pages;
            }
            check_seal(conn, prev.as_ref(), &seal, &mut problems)?;
            seals_checked += 1;
            events_checked += seal.event_count;
            cursor = seal.seq;
            prev = Some(seal);
        }
    }
    if let Some((seq, hash)) = &req.expect {
        let found = audit_seals::find(conn, *seq)?.map(|s| s.hash);
        problems.extend(against_expected(*seq, hash, found.as_deref()));
    }
    let head = audit_seals::head(conn)?;
    let (unsealed_events, oldest) = audit_seals::unsealed(conn, head.as_ref().map_or(0, |h| h.last_event_id))?;
    Ok(Verification {
        ok: problems.is_empty(),
        seals_checked,
        events_checked,
        from_seq,
        next_from_seq,
        head: head.as_ref().map(SealView::from),
        unsealed_events,
        oldest_unsealed_at: oldest.map(|t| t.and_utc()),
        problems,
    })
}

/// What a seal whose hash no longer matches says, from how many events it covers now against
/// how many it was made over.
fn mismatch(now: i64, sealed: i64) -> &'static str {
    match now.cmp(&sealed) {
        std::cmp::Ordering::Equal => "events_changed",
        std::cmp::Ordering::Greater => "events_added",
        std::cmp::Ordering::Less => "events_removed",
    }
}

/// Whether `seq` and `hash` can name a seal (for `expect_seq` / `--expect`): a position from 1
/// and 64 hexadecimal characters.
pub fn is_seal_ref(seq: i64, hash: &str) -> bool {
    seq >= 1 && hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_seal(conn: &mut DbConn, prev: Option<&Seal>, seal: &Seal, problems: &mut Vec<Problem>) -> AppResult<()> {
    let seq = Some(seal.seq);
    let (want_seq, want_after, want_prev) = match prev {
        Some(p) => (p.seq + 1, p.last_event_id, p.hash.as_str()),
        None => (1, 0, GENESIS),
    };
    if seal.seq != want_seq {
        problems.push(problem(
            seq,
            "seal_missing",
            format!("Seals {want_seq} to {} are missing.", seal.seq - 1),
        ));
    }
    if seal.after_event_id != want_after || seal.prev_hash != want_prev {
        problems.push(problem(
            seq,
            "chain_broken",
            format!("Seal {} does not follow on from the seal before it.", seal.seq),
        ));
    }
    let (hash, count) = rehash(conn, &seal.prev_hash, seal.seq, seal.after_event_id, seal.last_event_id)?;
    if hash != seal.hash {
        let code = mismatch(count, seal.event_count);
        let what = match code {
            "events_added" => format!("{} events were added", count - seal.event_count),
            "events_removed" => format!("{} events were removed", seal.event_count - count),
            _ => "an event was changed".to_string(),
        };
        problems.push(problem(
            seq,
            code,
            format!(
                "Seal {} (events {} to {}) no longer verifies: {what} since it was sealed, or the seal was changed.",
                seal.seq,
                seal.after_event_id + 1,
                seal.last_event_id
            ),
        ));
    }
    Ok(())
}

/// Start `serve`'s sealing thread (unless `every` is zero): it seals what is ready every
/// `every`.
pub fn start_schedule(
    pool: crate::db::DbPool,
    every: std::time::Duration,
    grace: Duration,
    clock: crate::state::Clock,
) {
    if every.is_zero() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("audit-seal".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let outcome = pool
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| seal(&mut conn, clock.now(), grace, usize::MAX));
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "sealing the audit log failed");
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the audit sealing thread");
    }
}
