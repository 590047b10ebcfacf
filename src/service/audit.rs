//! The audit trail: every sign-in, every change and every read of personal data.
//!
//! Policy: changes are audited in the same transaction as the change, so one cannot exist
//! without the other. Reads are audited through [`AuditSink`], a buffered writer that batches
//! events into one transaction every `audit.flush_interval_ms` (so reads do not contend for the
//! write lock) and flushes on shutdown. Details never hold personal values: field names, counts,
//! reasons and ids only.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Principal, RequestMeta};
use crate::db::audit::{AuditEvent, AuditFilter, NewAuditEvent};
use crate::db::{self, DbConn, DbPool};
use crate::error::{AppError, AppResult};

/// Build an audit event.
pub fn event(
    meta: &RequestMeta,
    actor: Option<&Principal>,
    action: &str,
    target: Option<(&str, &str)>,
    outcome: &str,
    detail: Option<serde_json::Value>,
) -> NewAuditEvent {
    NewAuditEvent {
        occurred_at: meta.now,
        actor_user_id: actor.filter(|p| !p.is_system()).map(|p| p.user_id),
        actor: actor.map(Principal::actor_label).unwrap_or_else(|| "anonymous".into()),
        action: action.into(),
        target_kind: target.map(|t| t.0.to_string()),
        target_id: target.map(|t| t.1.to_string()),
        outcome: outcome.into(),
        client_addr: meta.client_addr.clone(),
        request_id: meta.request_id.clone(),
        detail: detail.map(|d| d.to_string()),
        targets: None,
    }
}

/// An event of work the service does on its own, with no signed-in user; `actor` names it
/// (`retention`).
pub fn system_event(
    meta: &RequestMeta,
    actor: &str,
    action: &str,
    target: Option<(&str, &str)>,
    detail: Option<serde_json::Value>,
) -> NewAuditEvent {
    let mut ev = event(meta, None, action, target, "success", detail);
    ev.actor = actor.into();
    ev
}

/// Write one event now, inside the caller's transaction.
pub fn record(conn: &mut DbConn, ev: NewAuditEvent) -> AppResult<()> {
    db::audit::insert_many(conn, std::slice::from_ref(&ev))?;
    Ok(())
}

enum Message {
    Event(Box<NewAuditEvent>),
    /// One request's reads of several targets (a page of results): one event naming them all
    /// (`targets` set), and how many it names.
    Reads {
        event: Box<NewAuditEvent>,
        count: usize,
    },
    Flush(Sender<()>),
}

/// A buffered writer for read events; cheap to clone.
#[derive(Clone)]
pub struct AuditSink {
    tx: Sender<Message>,
}

/// Keeps the writer thread; dropping every sink and then calling [`AuditWriter::join`] flushes.
pub struct AuditWriter {
    handle: JoinHandle<()>,
}

impl AuditWriter {
    /// Wait for the writer to drain (after every [`AuditSink`] is dropped).
    pub fn join(self) {
        let _ = self.handle.join();
    }
}

impl AuditSink {
    /// Start the writer thread.
    pub fn start(pool: DbPool, interval: Duration, batch: usize) -> (AuditSink, AuditWriter) {
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run_writer(pool, rx, interval, batch))
            .unwrap_or_else(|e| panic!("cannot start the audit writer thread: {e}"));
        (AuditSink { tx }, AuditWriter { handle })
    }

    /// Queue an event.
    pub fn send(&self, ev: NewAuditEvent) {
        if self.tx.send(Message::Event(Box::new(ev))).is_err() {
            tracing::error!("audit writer has stopped; an audit event could not be queued");
        }
    }

    /// Queue one event about several targets of one kind, e.g. the people a page of results
    /// showed: it is stored once, carrying the sorted list of ids, with one index entry per
    /// target so that a person's audit trail still lists it.
    pub fn send_about_many(&self, mut event: NewAuditEvent, target_kind: &str, mut target_ids: Vec<String>) {
        event.target_kind = Some(target_kind.to_string());
        target_ids.sort_unstable();
        target_ids.dedup();
        let message = match target_ids.len() {
            0 => return,
            1 => {
                event.target_id = target_ids.pop();
                Message::Event(Box::new(event))
            }
            count => {
                event.target_id = None;
                event.targets = Some(serde_json::Value::from(target_ids).to_string());
                Message::Reads {
                    event: Box::new(event),
                    count,
                }
            }
        };
        if self.tx.send(message).is_err() {
            tracing::error!("audit writer has stopped; audit events could not be queued");
        }
    }

    /// Write everything queued so far before returning.
    pub fn flush(&self) {
        let (done_tx, done_rx) = mpsc::channel();
        if self.tx.send(Message::Flush(done_tx)).is_ok() {
            let _ = done_rx.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// Events waiting for the writer's next transaction.
#[derive(Default)]
struct Pending {
    events: Vec<NewAuditEvent>,
    pages: Vec<NewAuditEvent>,
    /// Rows to write (events plus page targets), for the batch limit.
    rows: usize,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.pages.is_empty()
    }

    fn clear(&mut self) {
        self.events.clear();
        self.pages.clear();
        self.rows = 0;
    }

    fn write(&self, conn: &mut DbConn) -> diesel::QueryResult<()> {
        db::audit::insert_many(conn, &self.events)?;
        for event in &self.pages {
            db::audit::insert_page(conn, event)?;
        }
        Ok(())
    }
}

fn run_writer(pool: DbPool, rx: Receiver<Message>, interval: Duration, batch: usize) {
    let mut buf = Pending::default();
    let mut waiting: Vec<Sender<()>> = Vec::new();
    let mut deadline = Instant::now() + interval;
    loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        let disconnected = match rx.recv_timeout(timeout) {
            Ok(Message::Event(ev)) => {
                buf.events.push(*ev);
                buf.rows += 1;
                false
            }
            Ok(Message::Reads { event, count }) => {
                buf.rows += 1 + count;
                buf.pages.push(*event);
                false
            }
            Ok(Message::Flush(done)) => {
                waiting.push(done);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let due = Instant::now() >= deadline;
        if buf.rows >= batch || due || disconnected || !waiting.is_empty() {
            write_batch(&pool, &mut buf);
            for w in waiting.drain(..) {
                let _ = w.send(());
            }
            deadline = Instant::now() + interval;
        }
        if disconnected {
            return;
        }
    }
}

fn write_batch(pool: &DbPool, buf: &mut Pending) {
    if buf.is_empty() {
        return;
    }
    // Retry a few times: losing audit events is worse than writing them late.
    for attempt in 0..5 {
        let started = Instant::now();
        let result = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| db::write_tx(&mut conn, |c| buf.write(c)).map_err(|e| e.to_string()));
        match result {
            Ok(()) => {
                // Other writers wait for this transaction (on SQLite up to the busy timeout).
                let took = started.elapsed();
                if took > Duration::from_secs(1) {
                    tracing::warn!(rows = buf.rows, ms = took.as_millis() as u64, "slow audit write");
                }
                buf.clear();
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, attempt, rows = buf.rows, "audit write failed");
                std::thread::sleep(Duration::from_millis(100 << attempt));
            }
        }
    }
}

/// An audit event as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuditEventView {
    /// Sequence number (cursor).
    pub id: i64,
    /// When, UTC.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Actor label (`user:<id>`, `anonymous`, `system`, `cli`).
    pub actor: String,
    /// What was done.
    pub action: String,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Target id (absent when the event names several targets).
    pub target_id: Option<String>,
    /// The targets of an event about several, e.g. every person a page of results showed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// `success`, `failure`, `denied`.
    pub outcome: String,
    /// Client address.
    pub client_addr: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Detail (no personal values).
    pub detail: Option<serde_json::Value>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        AuditEventView {
            id: e.id,
            occurred_at: e.occurred_at.and_utc(),
            actor: e.actor,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            targets: e
                .targets
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            outcome: e.outcome,
            client_addr: e.client_addr,
            request_id: e.request_id,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}

/// Audit events matching the filter, newest first. `actor` is a user's public id.
pub fn list(
    conn: &mut DbConn,
    actor: Option<&str>,
    mut filter: AuditFilter,
    limit: i64,
) -> AppResult<Vec<AuditEventView>> {
    if let Some(public_id) = actor {
        let user = db::users::find_by_public_id(conn, public_id)?;
        match user {
            Some(u) => filter.actor_user_id = Some(u.id),
            None => return Ok(Vec::new()),
        }
    }
    let rows = db::audit::list(conn, &filter, limit).map_err(AppError::from)?;
    Ok(rows.into_iter().map(AuditEventView::from).collect())
}
