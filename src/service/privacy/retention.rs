//! Retention (UK GDPR Art. 5(1)(e)): people with no live consent, no engagement and no change for
//! `retention.inactive_person_years` are erased, in batches, resumably (each batch is its own
//! transaction and a re-run simply finds what is left), and every erasure is audited.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::erase::{erase_person, purge_wal};
use super::keys::PointHasher;
use crate::config::RetentionSettings;
use crate::db::schema::{consent_state, engagement_events, people, scheduled_runs, sessions};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::service::RequestMeta;

/// The outcome of a run.
#[derive(Debug, Default, serde::Serialize)]
pub struct RetentionReport {
    /// People past retention (found in a dry run, erased otherwise).
    pub people: usize,
    /// Whether anything was changed.
    pub dry_run: bool,
    /// The cut-off: no change since this time.
    pub cutoff: Option<NaiveDateTime>,
    /// Uncommitted imports whose files were deleted (found, in a dry run).
    pub imports_discarded: usize,
    /// Their cut-off: untouched since this time (`None` when the rule is off).
    pub imports_cutoff: Option<NaiveDateTime>,
    /// Finished imports whose row reports were cleared (found, in a dry run).
    pub reports_cleared: usize,
    /// Their cut-off: finished before this time (`None` when the rule is off).
    pub reports_cutoff: Option<NaiveDateTime>,
    /// Data-protection requests anonymised (found, in a dry run).
    pub rights_requests_anonymised: usize,
    /// Their cut-off: closed before this time (`None` when the rule is off).
    pub rights_requests_cutoff: Option<NaiveDateTime>,
    /// Sessions and API tokens deleted (found, in a dry run).
    pub sessions_deleted: usize,
    /// Their cut-off: expired or ended before this time (`None` when the rule is off).
    pub sessions_cutoff: Option<NaiveDateTime>,
}

fn candidates(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    let live_consent = consent_state::table
        .filter(consent_state::status.eq("granted"))
        .filter(
            consent_state::expires_at
                .is_null()
                .or(consent_state::expires_at.gt(now)),
        )
        .select(consent_state::person_id);
    // Every action named: the time index is led by action.
    let recent_engagement = engagement_events::table
        .filter(engagement_events::action.eq_any(crate::db::engagement::ACTIONS))
        .filter(engagement_events::occurred_at.ge(cutoff))
        .select(engagement_events::person_id);
    people::table
        .filter(people::status.eq_any(["active", "restricted"]))
        .filter(people::updated_at.lt(cutoff))
        .filter(people::id.gt(after))
        .filter(people::id.ne_all(live_consent))
        .filter(people::id.ne_all(recent_engagement))
        .select(people::id)
        .order(people::id)
        .limit(limit)
        .load(conn)
}

/// Run the retention rules; with `dry_run` only count. `progress` is called after each batch.
pub fn run(
    conn: &mut DbConn,
    points: &PointHasher,
    settings: &RetentionSettings,
    now: NaiveDateTime,
    dry_run: bool,
    mut progress: impl FnMut(usize),
) -> AppResult<RetentionReport> {
    let mut report = RetentionReport {
        dry_run,
        ..Default::default()
    };
    if settings.uncommitted_import_days > 0 {
        let cutoff = now - Duration::days(settings.uncommitted_import_days);
        report.imports_cutoff = Some(cutoff);
        report.imports_discarded = crate::service::imports::discard::discard_stale(conn, cutoff, now, dry_run)?;
    }
    if settings.import_report_days > 0 {
        let cutoff = now - Duration::days(settings.import_report_days);
        report.reports_cutoff = Some(cutoff);
        report.reports_cleared = crate::service::imports::discard::clear_old_reports(conn, cutoff, now, dry_run)?;
    }
    if settings.ended_session_days > 0 {
        let cutoff = now - Duration::days(settings.ended_session_days);
        report.sessions_cutoff = Some(cutoff);
        report.sessions_deleted = ended_sessions(conn, cutoff, dry_run)?;
    }
    if settings.rights_request_years > 0 {
        let cutoff = years_before(now, settings.rights_request_years);
        report.rights_requests_cutoff = Some(cutoff);
        report.rights_requests_anonymised = super::requests::anonymise_closed_before(conn, cutoff, now, dry_run)?;
    }
    if settings.inactive_person_years == 0 {
        return Ok(report);
    }
    let cutoff = now - Duration::days(365 * settings.inactive_person_years);
    report.cutoff = Some(cutoff);
    let meta = RequestMeta::system(now);
    let mut after = 0;
    loop {
        let batch = candidates(conn, cutoff, now, after, settings.batch_size)?;
        let Some(last) = batch.last().copied() else { break };
        after = last;
        if !dry_run {
            let mut erased = 0;
            for id in &batch {
                match erase_person(conn, points, None, &meta, *id, "retention period ended") {
                    Ok(_) => erased += 1,
                    // Merged or erased since the batch was read: nothing of theirs left to erase.
                    Err(AppError::Conflict { .. } | AppError::Gone(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            // Once a batch, not once a person: each purge copies the whole WAL and may wait.
            purge_wal(conn);
            report.people += erased;
        } else {
            report.people += batch.len();
        }
        progress(report.people);
    }
    Ok(report)
}

/// `years` calendar years before `now` (29 February going back to a common year: 28 February).
fn years_before(now: NaiveDateTime, years: i64) -> NaiveDateTime {
    let months = u32::try_from(years.saturating_mul(12)).unwrap_or(u32::MAX);
    now.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(NaiveDateTime::MIN)
}

/// Delete (or count) the sessions and API tokens that expired or were ended before `cutoff`.
fn ended_sessions(conn: &mut DbConn, cutoff: NaiveDateTime, dry_run: bool) -> AppResult<usize> {
    let ended = sessions::expires_at.lt(cutoff).or(sessions::revoked_at.lt(cutoff));
    if dry_run {
        let n: i64 = sessions::table.filter(ended).count().get_result(conn)?;
        return Ok(usize::try_from(n).unwrap_or(0));
    }
    Ok(diesel::delete(sessions::table.filter(ended)).execute(conn)?)
}

/// Run the rules if `retention.run_every_hours` have passed since a run last started, on this
/// instance or another: the run is claimed by one conditional `UPDATE` of `scheduled_runs`, so
/// only one instance runs it each period. Returns the report of a run, `None` when none was due
/// (or the schedule is off). The run is audited as `retention.run` with its counts.
pub fn run_if_due(
    conn: &mut DbConn,
    points: &PointHasher,
    settings: &RetentionSettings,
    now: NaiveDateTime,
) -> AppResult<Option<RetentionReport>> {
    if settings.run_every_hours == 0 {
        return Ok(None);
    }
    let since = now - Duration::hours(settings.run_every_hours);
    let claimed = diesel::update(
        scheduled_runs::table.find("retention").filter(
            scheduled_runs::started_at
                .is_null()
                .or(scheduled_runs::started_at.le(since)),
        ),
    )
    .set(scheduled_runs::started_at.eq(Some(now)))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    let report = run(conn, points, settings, now, false, |_| {})?;
    let counts = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.to_string()))?;
    diesel::update(scheduled_runs::table.find("retention"))
        .set((
            scheduled_runs::finished_at.eq(Some(crate::db::now().max(now))),
            scheduled_runs::report.eq(Some(counts.to_string())),
        ))
        .execute(conn)?;
    let meta = RequestMeta::system(now);
    let ev = crate::service::audit::system_event(&meta, "retention", "retention.run", None, Some(counts));
    crate::service::audit::record(conn, ev)?;
    Ok(Some(report))
}

/// How often `serve`'s retention thread asks whether a run is due.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Start `serve`'s retention thread (unless `retention.run_every_hours` is 0): a minute after
/// start, then every ten minutes, it runs the rules when they are due ([`run_if_due`]).
pub fn start_schedule(
    pool: crate::db::DbPool,
    points: PointHasher,
    settings: RetentionSettings,
    clock: crate::state::Clock,
) {
    if settings.run_every_hours == 0 {
        return;
    }
    let spawned = std::thread::Builder::new().name("retention".into()).spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        loop {
            let outcome = pool
                .get()
                .map_err(AppError::from)
                .and_then(|mut conn| run_if_due(&mut conn, &points, &settings, clock.now()));
            match outcome {
                Ok(Some(r)) => tracing::info!(
                    people = r.people,
                    imports_discarded = r.imports_discarded,
                    reports_cleared = r.reports_cleared,
                    rights_requests_anonymised = r.rights_requests_anonymised,
                    sessions_deleted = r.sessions_deleted,
                    "retention run"
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "retention run failed"),
            }
            std::thread::sleep(CHECK_EVERY);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the retention thread");
    }
}
