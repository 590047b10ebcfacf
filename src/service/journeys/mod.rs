//! Journey analytics over the engagement ledger: transitions, funnels, cohorts, paths, reach, and
//! one person's recency / frequency / breadth scores.
//!
//! Policy:
//! - **Who counts**: only `active` people. Restricted people (processing restricted), erased people
//!   (only anonymous aggregates remain) and records merged into another are left out.
//! - **Which events**: `occurred_at` in `[from, to)` — by default the last
//!   `journeys.default_period_days` up to now — narrowed by department and kind. A user scoped to
//!   departments sees analytics of their departments' events only.
//! - **What comes out**: counts of people, never people. Counts below `journeys.min_count` are
//!   published as `"<k"` and the cells that would reveal them as `"hidden"` (see
//!   [`crate::journeys_core`]). Every analytic renders as JSON, CSV or an SVG chart.
//! - **How it is read**: only the period's events of the actions the analytic uses, two weeks at
//!   a time along an `(action, time, …)` covering index, streamed into small ids (32 bytes an
//!   event), sorted by person then time in memory; then one pass. A funnel reads its scope's
//!   events, then only its participants' later participations ([`stream::load_funnel`]). (A
//!   person's whole history, for scores, is read in person-id slices.)

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::JourneySettings;
use crate::db::journeys::{EventFilter, ScopedSteps};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};
use crate::journeys_core::{self as jc, EventIds, FunnelScope, Options};
use crate::service::audit;
use crate::service::authz::Scope;
use crate::service::Ctx;

mod stream;

use stream::*;

/// People per read: bounds the memory of one slice.
const SLICE: i64 = 50_000;

/// The participation actions (and, for funnels, the steps before them).
const PARTICIPATION: [&str; 3] = ["attended", "volunteered", "responded"];
const FUNNEL_STEPS: [&str; 2] = ["invited", "registered"];

/// How an analytic is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (default).
    #[default]
    Json,
    /// CSV (formulas neutralised).
    Csv,
    /// An SVG chart.
    Svg,
}

/// Filters and options of every journey analytic.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyQuery {
    /// From (inclusive); default `journeys.default_period_days` before `to`.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive); default now.
    #[serde(default, deserialize_with = "crate::normalize::bounded_time::optional")]
    pub to: Option<DateTime<Utc>>,
    /// Only events of this department (code).
    pub department: Option<String>,
    /// Only events of this kind; for a funnel, the kind whose activities it follows.
    pub kind: Option<String>,
    /// Funnel only: the activity it follows (public id).
    pub activity: Option<String>,
    /// Only the people of this saved segment (public id), as it evaluates now.
    pub segment: Option<String>,
    /// `json` (default), `csv` or `svg`.
    pub format: Option<Format>,
    /// Paths: how many to list (1–50, default 10).
    pub top: Option<usize>,
    /// Paths: longest path in kinds (1–8, default 5).
    pub max_len: Option<usize>,
    /// Cohorts: months after the first (0–120, default 12).
    pub months: Option<usize>,
}

/// Which analytic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analytic {
    /// From each kind, what people did next and how soon.
    Transitions,
    /// Invited → registered → attended → came back.
    Funnel,
    /// People by month of first participation, re-engaging in later months.
    Cohorts,
    /// The most frequent sequences of kinds.
    Paths,
    /// People per department and across departments.
    Reach,
}

impl Analytic {
    /// The analytic's name, as in its path.
    pub fn name(self) -> &'static str {
        match self {
            Analytic::Transitions => "transitions",
            Analytic::Funnel => "funnel",
            Analytic::Cohorts => "cohorts",
            Analytic::Paths => "paths",
            Analytic::Reach => "reach",
        }
    }
}

/// An analytic's result, in its requested form.
#[derive(Debug)]
pub struct Rendered {
    /// Media type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// Suggested file name (CSV and SVG).
    pub file_name: String,
}

/// The period an analytic covers, echoed with the result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Period {
    /// From (inclusive).
    pub from: DateTime<Utc>,
    /// To (exclusive).
    pub to: DateTime<Utc>,
}

/// A JSON result: the period and the analytic.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JourneyResult<T> {
    /// The period covered.
    pub period: Period,
    /// The analytic.
    pub result: T,
}

fn render<T: Serialize>(
    analytic: Analytic,
    format: Format,
    period: Period,
    value: T,
    csv: impl FnOnce(&T) -> String,
    svg: impl FnOnce(&T) -> String,
) -> AppResult<Rendered> {
    let stem = format!(
        "{}-{}-{}",
        analytic.name(),
        period.from.format("%Y%m%d"),
        period.to.format("%Y%m%d")
    );
    rendered(
        format,
        &stem,
        || serde_json::to_string(&JourneyResult { period, result: &value }),
        || csv(&value),
        || svg(&value),
    )
}

/// One result in the requested form, named `stem.json|csv|svg`.
fn rendered(
    format: Format,
    stem: &str,
    json: impl FnOnce() -> serde_json::Result<String>,
    csv: impl FnOnce() -> String,
    svg: impl FnOnce() -> String,
) -> AppResult<Rendered> {
    let (content_type, body, ext) = match format {
        Format::Json => (
            "application/json",
            json().map_err(|e| AppError::Internal(e.to_string()))?,
            "json",
        ),
        Format::Csv => ("text/csv; charset=utf-8", csv(), "csv"),
        Format::Svg => ("image/svg+xml", svg(), "svg"),
    };
    Ok(Rendered {
        content_type,
        body,
        file_name: format!("{stem}.{ext}"),
    })
}

fn parse_period(q: &JourneyQuery, settings: &JourneySettings, now: NaiveDateTime) -> AppResult<Period> {
    let to = q.to.unwrap_or_else(|| now.and_utc());
    let from = q
        .from
        .unwrap_or_else(|| to - Duration::days(settings.default_period_days));
    if from >= to {
        return Err(AppError::field("from", "empty_period", "`from` must be before `to`."));
    }
    if to - from > Duration::days(3660) {
        return Err(AppError::field(
            "from",
            "period_too_long",
            "A period covers at most ten years.",
        ));
    }
    Ok(Period { from, to })
}

fn options(q: &JourneyQuery, settings: &JourneySettings, period: &Period) -> AppResult<Options> {
    let mut opts = Options::new(period.to.naive_utc());
    opts.min_count = settings.min_count;
    if let Some(top) = q.top {
        if !(1..=50).contains(&top) {
            return Err(AppError::field("top", "out_of_range", "Between 1 and 50."));
        }
        opts.top_paths = top;
    }
    if let Some(len) = q.max_len {
        if !(1..=8).contains(&len) {
            return Err(AppError::field("max_len", "out_of_range", "Between 1 and 8."));
        }
        opts.max_path_len = len;
    }
    if let Some(m) = q.months {
        if m > 120 {
            return Err(AppError::field("months", "out_of_range", "Between 0 and 120."));
        }
        opts.cohort_months = m;
    }
    Ok(opts)
}

/// Run one analytic for the caller and render it.
pub fn run(
    conn: &mut DbConn,
    pool: Option<&crate::db::DbPool>,
    ctx: &Ctx,
    settings: &JourneySettings,
    analytic: Analytic,
    q: &JourneyQuery,
) -> AppResult<Rendered> {
    let period = parse_period(q, settings, ctx.meta.now)?;
    let opts = options(q, settings, &period)?;
    let (dict, departments) = dictionary(conn)?;
    let department_ids = department_filter(conn, ctx, q)?;
    if let Some(k) = &q.kind {
        if dict.find_kind(k).is_none() {
            return Err(AppError::field(
                "kind",
                "unknown_kind",
                "There is no such kind of activity.",
            ));
        }
    }
    let scope = match analytic {
        Analytic::Funnel => Some(funnel_scope(conn, ctx, q)?),
        _ => {
            if q.activity.is_some() {
                return Err(AppError::field(
                    "activity",
                    "not_applicable",
                    "Only funnels follow one activity.",
                ));
            }
            None
        }
    };
    let filter = EventFilter {
        from: Some(period.from.naive_utc()),
        to: Some(period.to.naive_utc()),
        actions: PARTICIPATION.to_vec(),
        departments: department_ids,
        // A funnel's kind says which activities it follows; "came back" may be any kind.
        kind: if scope.is_some() { None } else { q.kind.clone() },
        // Invitations and registrations count only within the funnel's scope: reading the rest
        // would only be thrown away.
        scoped_steps: scope.clone().map(|within| ScopedSteps {
            actions: FUNNEL_STEPS.to_vec(),
            within,
        }),
    };
    let only = match &q.segment {
        // Segments are the campaigns team's: whoever may not see them may not filter by them.
        Some(_) if !ctx.principal.can(crate::service::Permission::CampaignsManage) => {
            return Err(AppError::Forbidden(
                "Filtering by a segment needs the campaigns permission.".into(),
            ));
        }
        Some(id) => {
            let segment = crate::service::campaigns::segments::find(conn, id)
                .map_err(|_| AppError::field("segment", "unknown_segment", "There is no such segment."))?;
            let expr = crate::service::campaigns::segments::stored_expr(&segment)?;
            Some(crate::service::campaigns::segments::evaluate(
                conn,
                &expr,
                ctx.meta.now,
            )?)
        }
        None => None,
    };
    let excluded = db::journeys::excluded_people(conn)?;
    let enc = Encoder {
        dict: &dict,
        departments: &departments,
        excluded: &excluded,
        only: only.as_deref(),
    };
    let events = match &scope {
        Some(within) => load_funnel(conn, pool, &filter, within, &enc)?,
        None => load_period(conn, pool, &filter, &enc)?,
    };
    let stream = || events.iter().copied();
    let format = q.format.unwrap_or_default();
    let rendered = match (analytic, scope) {
        (Analytic::Transitions, _) => {
            let v = jc::transitions_ids(stream(), &dict, &opts);
            render(analytic, format, period, v, |v| v.to_csv(), |v| v.to_svg())
        }
        (Analytic::Funnel, Some(scope)) => {
            let v = jc::funnel_ids(stream(), &dict, &opts, scope);
            render(analytic, format, period, v, |v| v.to_csv(), |v| v.to_svg())
        }
        (Analytic::Funnel, None) => Err(AppError::Internal("funnel without scope".into())),
        (Analytic::Cohorts, _) => {
            let v = jc::cohorts_ids(stream(), &dict, &opts);
            render(analytic, format, period, v, |v| v.to_csv(), |v| v.to_svg())
        }
        (Analytic::Paths, _) => {
            let v = jc::paths_ids(stream(), &dict, &opts);
            render(analytic, format, period, v, |v| v.to_csv(), |v| v.to_svg())
        }
        (Analytic::Reach, _) => {
            let v = jc::reach_ids(stream(), &dict, &opts);
            render(analytic, format, period, v, |v| v.to_csv(), |v| v.to_svg())
        }
    }?;
    Ok(rendered)
}

/// The departments whose events count: the one asked for, within the caller's scope.
fn department_filter(conn: &mut DbConn, ctx: &Ctx, q: &JourneyQuery) -> AppResult<Option<Vec<i64>>> {
    let asked = match &q.department {
        Some(code) => Some(
            db::departments::list(conn)?
                .into_iter()
                .find(|d| &d.code == code)
                .map(|d| vec![d.id])
                .ok_or_else(|| AppError::field("department", "unknown_department", "There is no such department."))?,
        ),
        None => None,
    };
    Ok(match &ctx.principal.scope {
        Scope::All => asked,
        Scope::Departments(mine) => Some(
            asked
                .unwrap_or_else(|| mine.clone())
                .into_iter()
                .filter(|d| mine.contains(d))
                .collect(),
        ),
    })
}

fn funnel_scope(conn: &mut DbConn, ctx: &Ctx, q: &JourneyQuery) -> AppResult<FunnelScope> {
    match (&q.activity, &q.kind) {
        (Some(a), None) => {
            let activity = crate::service::engagement::activities::find_visible(conn, ctx, a)?;
            Ok(FunnelScope::Activity(activity.id))
        }
        (None, Some(k)) => Ok(FunnelScope::Kind(k.clone())),
        _ => Err(AppError::field(
            "activity",
            "funnel_scope",
            "A funnel follows one activity or one kind: give exactly one of `activity` and `kind`.",
        )),
    }
}

/// One person's recency / frequency / breadth scores, as of now.
pub fn person_scores(
    conn: &mut DbConn,
    ctx: &Ctx,
    sink: &audit::AuditSink,
    public_id: &str,
    format: Format,
) -> AppResult<Rendered> {
    let person = crate::service::people::find_visible(conn, &ctx.principal, public_id)?;
    let (dict, departments) = dictionary(conn)?;
    let enc = Encoder {
        dict: &dict,
        departments: &departments,
        excluded: &[],
        only: None,
    };
    // A department editor's scores count their departments' events only, as their timeline
    // shows them: the scores must not reveal engagement elsewhere.
    let in_scope = |department: i64| match &ctx.principal.scope {
        Scope::All => true,
        Scope::Departments(mine) => mine.contains(&department),
    };
    let events: Vec<EventIds> = db::journeys::events_of(conn, person.id)?
        .into_iter()
        .filter(|row| in_scope(row.4))
        .filter_map(|row| enc.encode(row))
        .collect();
    let scores = jc::person_scores_ids(&events, &dict, ctx.meta.now.and_utc().timestamp());
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "scores.read",
        Some(("person", public_id)),
        "success",
        None,
    ));
    rendered(
        format,
        &format!("scores-{public_id}"),
        || serde_json::to_string(&scores),
        || scores.to_csv(),
        || scores.to_svg(),
    )
}

/// Every active person's scores as of `now` (people with no participation are absent: they
/// score like [`jc::person_scores`] of nothing). Used by segments.
pub fn all_scores(
    conn: &mut DbConn,
    now: NaiveDateTime,
) -> AppResult<std::collections::HashMap<i64, jc::PersonScores>> {
    let (dict, departments) = dictionary(conn)?;
    let max = db::journeys::max_person_with_events(conn)?;
    let excluded = db::journeys::excluded_people(conn)?;
    let now_secs = now.and_utc().timestamp();
    let mut stream = EventStream {
        conn,
        filter: EventFilter {
            to: Some(now),
            actions: PARTICIPATION.to_vec(),
            ..EventFilter::default()
        },
        dict: &dict,
        departments: &departments,
        excluded,
        only: None,
        next_lo: 0,
        max,
        buf: Vec::new().into_iter(),
        error: None,
    };
    let mut out = std::collections::HashMap::new();
    let mut buf: Vec<EventIds> = Vec::new();
    for ev in stream.by_ref() {
        if buf.last().is_some_and(|b| b.person != ev.person) {
            out.insert(buf[0].person, jc::person_scores_ids(&buf, &dict, now_secs));
            buf.clear();
        }
        buf.push(ev);
    }
    if let Some(first) = buf.first() {
        out.insert(first.person, jc::person_scores_ids(&buf, &dict, now_secs));
    }
    if let Some(e) = stream.error {
        return Err(e.into());
    }
    Ok(out)
}
