//! Reading a period's events for the analytics: two weeks at a time along the covering index,
//! interned into small ids, in person-id slices when a whole history is wanted.

use chrono::Duration;

use super::*;
use crate::db::journeys::{EventFilter, EventTuple};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};
use crate::journeys_core::{Dictionary, EventIds};
use crate::service::engagement::events::ACTIONS;

/// Every kind, action and department, interned before the pass (the pass cannot grow it).
pub(super) fn dictionary(conn: &mut DbConn) -> AppResult<(Dictionary, Vec<(i64, u16)>)> {
    let mut dict = Dictionary::new();
    for (code, _) in db::engagement::kinds(conn)? {
        dict.kind_id(&code);
    }
    for action in ACTIONS {
        dict.action_id(action);
    }
    let departments = db::departments::list(conn)?
        .into_iter()
        .map(|d| (d.id, dict.department_id(&d.code)))
        .collect();
    Ok((dict, departments))
}

/// Events of the filter, slice by slice, as interned ids; remembers the first database error.
pub(super) struct EventStream<'a> {
    pub(super) conn: &'a mut DbConn,
    pub(super) filter: EventFilter,
    pub(super) dict: &'a Dictionary,
    pub(super) departments: &'a [(i64, u16)],
    pub(super) excluded: Vec<i64>,
    /// When set, only these people (sorted).
    pub(super) only: Option<Vec<i64>>,
    pub(super) next_lo: i64,
    pub(super) max: i64,
    pub(super) buf: std::vec::IntoIter<EventTuple>,
    pub(super) error: Option<diesel::result::Error>,
}

/// Who is left out and how names become ids.
pub(super) struct Encoder<'a> {
    pub(super) dict: &'a Dictionary,
    pub(super) departments: &'a [(i64, u16)],
    pub(super) excluded: &'a [i64],
    pub(super) only: Option<&'a [i64]>,
}

impl Encoder<'_> {
    pub(super) fn encode(&self, (person, at, kind, action, department, activity): EventTuple) -> Option<EventIds> {
        if self.excluded.binary_search(&person).is_ok() || self.only.is_some_and(|o| o.binary_search(&person).is_err())
        {
            return None;
        }
        Some(EventIds {
            person,
            at_secs: at.and_utc().timestamp(),
            kind: self.dict.find_kind(kind.as_str())?,
            action: ACTIONS
                .iter()
                .position(|a| *a == action.as_str())
                .and_then(|i| u16::try_from(i).ok())?,
            department: self.departments.iter().find(|d| d.0 == department)?.1,
            activity: activity.unwrap_or(0),
        })
    }
}

impl EventStream<'_> {
    pub(super) fn encode(&self, row: EventTuple) -> Option<EventIds> {
        Encoder {
            dict: self.dict,
            departments: self.departments,
            excluded: &self.excluded,
            only: self.only.as_deref(),
        }
        .encode(row)
    }
}

/// Days per read of [`load_period`]: bounds the rows held before they are interned.
const WINDOW_DAYS: i64 = 14;

/// The period's events as interned ids (32 bytes each), sorted by person then time. Read window
/// by window along the `(action, occurred_at, …)` covering index, so only the period's events of
/// the actions wanted are read however long the history, then sorted here. With a pool, a second connection reads every other window at
/// the same time (reading and decoding rows is most of an analytic's time).
pub(super) fn load_period(
    conn: &mut DbConn,
    pool: Option<&crate::db::DbPool>,
    filter: &EventFilter,
    enc: &Encoder<'_>,
) -> AppResult<Vec<EventIds>> {
    let (Some(from), Some(to)) = (filter.from, filter.to) else {
        return Err(AppError::Internal("a period needs both ends".into()));
    };
    let mut windows = Vec::new();
    let mut t = from;
    while t < to {
        let end = (t + Duration::days(WINDOW_DAYS)).min(to);
        windows.push(EventFilter {
            from: Some(t),
            to: Some(end),
            ..filter.clone()
        });
        t = end;
    }
    let read = |conn: &mut DbConn, part: usize, parts: usize| -> AppResult<Vec<EventIds>> {
        let mut out = Vec::new();
        for window in windows.iter().skip(part).step_by(parts) {
            db::journeys::each_event_in_period(conn, window, |row| out.extend(enc.encode(row)))?;
        }
        Ok(out)
    };
    let mut out = crate::service::in_two_parts(conn, pool, windows.len() > 1, read)?;
    out.sort_unstable_by_key(|e| (e.person, e.at_secs));
    Ok(out)
}

impl Iterator for EventStream<'_> {
    type Item = EventIds;

    fn next(&mut self) -> Option<EventIds> {
        loop {
            while let Some(row) = self.buf.next() {
                if let Some(ev) = self.encode(row) {
                    return Some(ev);
                }
            }
            if self.error.is_some() || self.next_lo > self.max {
                return None;
            }
            let (lo, hi) = (self.next_lo, self.next_lo.saturating_add(SLICE));
            self.next_lo = hi;
            match db::journeys::events_in_range(self.conn, lo, hi, &self.filter) {
                Ok(rows) => self.buf = rows.into_iter(),
                Err(e) => self.error = Some(e),
            }
        }
    }
}

/// A funnel's events, read in two steps instead of every participation of the period:
/// 1. the scope's own events (its invitations, registrations and participations) over the
///    period, along the period index;
/// 2. for the people who took part in scope, their participations (any activity, within the
///    caller's departments) strictly after their first one in scope, up to the period's end,
///    along the person index, [`PEOPLE_PER_READ`](db::journeys::PEOPLE_PER_READ) people a read.
///
/// "Came back" looks at nothing else (see [`crate::journeys_core`]'s funnel), so the funnel is
/// the same as over every participation of the period; the second read only touches the few
/// people the scope holds. An in-scope participation may come back from both reads: the funnel
/// counts people, and a repeated event changes no one's furthest step.
pub(super) fn load_funnel(
    conn: &mut DbConn,
    pool: Option<&crate::db::DbPool>,
    filter: &EventFilter,
    within: &crate::journeys_core::FunnelScope,
    enc: &Encoder<'_>,
) -> AppResult<Vec<EventIds>> {
    let scoped = EventFilter {
        actions: Vec::new(),
        kind: None,
        scoped_steps: Some(crate::db::journeys::ScopedSteps {
            actions: FUNNEL_STEPS.iter().chain(&PARTICIPATION).copied().collect(),
            within: within.clone(),
        }),
        ..filter.clone()
    };
    let mut events = load_period(conn, pool, &scoped, enc)?;
    // Sorted by person then time: each person's first participation in scope.
    let mut firsts: Vec<(i64, i64)> = Vec::new();
    for ev in &events {
        if enc.dict.action_class(ev.action) == crate::journeys_core::ActionClass::Participation
            && firsts.last().is_none_or(|f| f.0 != ev.person)
        {
            firsts.push((ev.person, ev.at_secs));
        }
    }
    let chunks: Vec<&[(i64, i64)]> = firsts.chunks(db::journeys::PEOPLE_PER_READ).collect();
    let read = |conn: &mut DbConn, part: usize, parts: usize| -> AppResult<Vec<EventIds>> {
        let mut out = Vec::new();
        for chunk in chunks.iter().skip(part).step_by(parts) {
            let ids: Vec<i64> = chunk.iter().map(|f| f.0).collect();
            let earliest = chunk.iter().map(|f| f.1).min().unwrap_or(i64::MAX);
            let later = EventFilter {
                from: chrono::DateTime::from_timestamp(earliest, 0).map(|t| t.naive_utc()),
                actions: PARTICIPATION.to_vec(),
                kind: None,
                scoped_steps: None,
                ..filter.clone()
            };
            for row in db::journeys::events_of_people(conn, &ids, &later)? {
                let Some(ev) = enc.encode(row) else { continue };
                let first = chunk
                    .binary_search_by_key(&ev.person, |f| f.0)
                    .ok()
                    .and_then(|i| chunk.get(i));
                if first.is_some_and(|f| ev.at_secs > f.1) {
                    out.push(ev);
                }
            }
        }
        Ok(out)
    };
    events.extend(crate::service::in_two_parts(conn, pool, chunks.len() > 1, read)?);
    events.sort_unstable_by_key(|e| (e.person, e.at_secs));
    Ok(events)
}
