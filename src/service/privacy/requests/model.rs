//! The register's types: what a client sends and gets back, the stored row, and the clock
//! worked out from it (see [`super::super::deadline`]).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::deadline;
use crate::db::schema::rights_requests;
use crate::error::{AppError, AppResult};

/// Kinds of request (UK GDPR Arts. 15–21).
pub const KINDS: [&str; 6] = [
    "access",
    "erasure",
    "rectification",
    "restriction",
    "objection",
    "portability",
];
/// How a request arrived.
pub const CHANNELS: [&str; 6] = ["email", "post", "phone", "in_person", "web", "other"];
/// What a stopped clock awaits.
pub const AWAITING: [&str; 3] = ["identity", "fee", "clarification"];
/// How a request was closed.
pub const OUTCOMES: [&str; 3] = ["completed", "refused", "withdrawn"];
/// A due date this close (in days) or closer is flagged `due_soon`.
pub const DUE_SOON_DAYS: i64 = 5;

/// Register a request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRightsRequest {
    /// access, erasure, rectification, restriction, objection or portability.
    pub kind: String,
    /// The person it is about, when known (their id).
    pub person: Option<String>,
    /// Who made it, as they signed it (1–200 characters).
    pub requester: String,
    /// email, post, phone, in_person, web or other.
    pub channel: String,
    /// The day it was received (default today; not in the future, at most a year ago).
    pub received_on: Option<NaiveDate>,
    /// Notes (up to 2,000 characters).
    pub notes: Option<String>,
}

/// Stop the clock (awaiting proof of identity or clarification).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StopClockRequest {
    /// What is awaited: `identity` or `fee` (the month then runs again from the day it
    /// arrives) or `clarification` (the days stopped are added).
    pub awaiting: String,
    /// A note while it is stopped (up to 500 characters; not kept once the clock restarts).
    pub reason: Option<String>,
    /// The day the requester was asked (default today; not before the request was received or
    /// the clock last restarted, not in the future).
    pub on: Option<NaiveDate>,
}

/// Restart the clock.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartClockRequest {
    /// The day what was awaited arrived (default today; not before the stop, not in the future).
    pub on: Option<NaiveDate>,
}

/// Extend the time to respond.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendRequest {
    /// The extension in all, in months: 1 or 2 (more than any extension before).
    pub months: u32,
    /// Why (complex or numerous requests), as told to the requester: 3–500 characters.
    pub reason: String,
}

/// Change what a request says about whom (any status: the register is corrected, not closed).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRightsRequest {
    /// Link the request to this person (their id), e.g. once their identity is confirmed.
    pub person: Option<String>,
    /// Replace the notes (up to 2,000 characters; an empty text clears them).
    pub notes: Option<String>,
}

/// Close a request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// completed, refused or withdrawn.
    pub outcome: String,
    /// What was done, or why it was refused (up to 2,000 characters).
    pub note: Option<String>,
}

/// Which requests to list.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsRequestQuery {
    /// `open` (default), `closed` or `all`.
    pub status: Option<String>,
    /// One kind.
    pub kind: Option<String>,
    /// One person's requests (their id).
    pub person: Option<String>,
    /// Open requests due within this many days (overdue ones included): 0–366.
    pub due_within: Option<i64>,
    /// Page size 1–200 (default 50).
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// A stop of the clock that has ended.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClockStop {
    /// The day it stopped.
    pub stopped_on: NaiveDate,
    /// The day it restarted.
    pub restarted_on: NaiveDate,
    /// identity, fee or clarification.
    pub awaiting: String,
}

/// A request as the officer sees it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RightsRequestView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// open, completed, refused or withdrawn.
    pub status: String,
    /// The person's id, when linked.
    pub person: Option<String>,
    /// Who made it.
    pub requester: String,
    /// How it arrived.
    pub channel: String,
    /// The day it was received.
    pub received_on: NaiveDate,
    /// The day the month counts from: the day it was received, or the day proof of identity
    /// (or a fee) awaited arrived.
    pub counts_from: NaiveDate,
    /// The day it must be answered by; absent while the clock is stopped.
    pub due_on: Option<NaiveDate>,
    /// The due date without any extension (an extension must be decided by then); absent while
    /// the clock is stopped.
    pub first_due_on: Option<NaiveDate>,
    /// Days from today to the due date (negative: overdue), for an open request.
    pub days_left: Option<i64>,
    /// Open and past its due date.
    pub overdue: bool,
    /// Open and due within five days.
    pub due_soon: bool,
    /// Months the response was extended by (0–2).
    pub extended_months: i32,
    /// Why it was extended.
    pub extension_reason: Option<String>,
    /// When it was extended.
    pub extended_at: Option<DateTime<Utc>>,
    /// The day the clock stopped, while it is stopped.
    pub clock_stopped_on: Option<NaiveDate>,
    /// What it awaits, while it is stopped.
    pub awaiting: Option<String>,
    /// Why it is stopped.
    pub stop_reason: Option<String>,
    /// Earlier stops.
    pub clock_stops: Vec<ClockStop>,
    /// Days added for clarification (ended stops since the month last started).
    pub stopped_days: i64,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// What was done.
    pub outcome_note: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When the retention period ended and who made it, the notes and the person's link were
    /// removed (`retention.rights_request_years` after it was closed).
    pub anonymised_at: Option<DateTime<Utc>>,
}

/// A page of requests: open ones by due date (stopped clocks last), closed ones newest first.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RightsRequestPage {
    /// The page.
    pub items: Vec<RightsRequestView>,
    /// How many match.
    pub total: usize,
    /// Of those, open and overdue.
    pub overdue: usize,
    /// Of those, open and due within five days.
    pub due_soon: usize,
}

/// A stored request.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rights_requests)]
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) public_id: String,
    pub(super) kind: String,
    pub(super) person_id: Option<i64>,
    pub(super) requester: String,
    pub(super) channel: String,
    pub(super) received_on: NaiveDate,
    pub(super) extended_months: i32,
    pub(super) extension_reason: Option<String>,
    pub(super) extended_at: Option<NaiveDateTime>,
    pub(super) pauses: String,
    pub(super) stopped_on: Option<NaiveDate>,
    pub(super) stop_awaiting: Option<String>,
    pub(super) stop_reason: Option<String>,
    pub(super) status: String,
    pub(super) closed_at: Option<NaiveDateTime>,
    pub(super) outcome_note: Option<String>,
    pub(super) notes: Option<String>,
    pub(super) created_at: NaiveDateTime,
    pub(super) updated_at: NaiveDateTime,
    pub(super) anonymised_at: Option<NaiveDateTime>,
}

impl Row {
    pub(super) fn stops(&self) -> Vec<ClockStop> {
        serde_json::from_str(&self.pauses).unwrap_or_default()
    }

    /// The day the month counts from, and the days added for clarification since then.
    pub(super) fn clock(&self) -> (NaiveDate, i64) {
        let mut start = self.received_on;
        let mut added = 0;
        for stop in self.stops() {
            if stop.awaiting == "clarification" {
                added += (stop.restarted_on - stop.stopped_on).num_days().max(0);
            } else {
                start = stop.restarted_on.max(start);
                added = 0;
            }
        }
        (start, added)
    }

    /// (due date, first due date), both absent while the clock is stopped.
    pub(super) fn due(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        if self.stopped_on.is_some() {
            return (None, None);
        }
        let (start, added) = self.clock();
        let added = u64::try_from(added).unwrap_or(0);
        let months = u32::try_from(self.extended_months).unwrap_or(0);
        (
            deadline::due_date(start, months, added),
            deadline::due_date(start, 0, added),
        )
    }

    pub(super) fn view(&self, person: Option<String>, today: NaiveDate) -> RightsRequestView {
        let (due_on, first_due_on) = self.due();
        let open = self.status == "open";
        let days_left = due_on.filter(|_| open).map(|d| (d - today).num_days());
        RightsRequestView {
            id: self.public_id.clone(),
            kind: self.kind.clone(),
            status: self.status.clone(),
            person,
            requester: self.requester.clone(),
            channel: self.channel.clone(),
            received_on: self.received_on,
            counts_from: self.clock().0,
            due_on,
            first_due_on,
            days_left,
            overdue: days_left.is_some_and(|d| d < 0),
            due_soon: days_left.is_some_and(|d| (0..=DUE_SOON_DAYS).contains(&d)),
            extended_months: self.extended_months,
            extension_reason: self.extension_reason.clone(),
            extended_at: self.extended_at.map(|t| t.and_utc()),
            clock_stopped_on: self.stopped_on,
            awaiting: self.stop_awaiting.clone(),
            stop_reason: self.stop_reason.clone(),
            clock_stops: self.stops(),
            stopped_days: self.clock().1,
            closed_at: self.closed_at.map(|t| t.and_utc()),
            outcome_note: self.outcome_note.clone(),
            notes: self.notes.clone(),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            anonymised_at: self.anonymised_at.map(|t| t.and_utc()),
        }
    }
}

/// End the current stop on `on`, adding it to the earlier ones.
pub(super) fn restart(row: &mut Row, on: NaiveDate) -> AppResult<()> {
    let (Some(stopped_on), Some(awaiting)) = (row.stopped_on.take(), row.stop_awaiting.take()) else {
        return Ok(());
    };
    row.stop_reason = None;
    let mut stops = row.stops();
    stops.push(ClockStop {
        stopped_on,
        restarted_on: on,
        awaiting,
    });
    row.pauses = serde_json::to_string(&stops).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(())
}
