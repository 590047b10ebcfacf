//! The review queue: possible duplicates with the per-field explanation of their score;
//! accepting merges them, rejecting records "not the same person" for good.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{merge_people, settle_candidate, MergeRequest, MergeResult};
use crate::db::people::{self as dbp, Db};
use crate::db::schema::{match_candidates, people, person_departments};
use crate::db::{write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::people::view::{assemble, PersonView};
use crate::service::{audit, is_public_id, Ctx, Permission, Scope};

/// Filters of the review queue.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchQuery {
    /// `pending` (default), `accepted`, `rejected` or `superseded`.
    pub status: Option<String>,
    /// Only pairs where either person is linked to this department (code).
    pub department: Option<String>,
    /// Only pairs involving this person (public id): their possible duplicates.
    pub person: Option<String>,
    /// Lowest match probability, 0–1.
    pub min_score: Option<f64>,
    /// Highest match probability, 0–1.
    pub max_score: Option<f64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
}

/// A possible duplicate: two people and why they may be one.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MatchView {
    /// Id of the proposal.
    pub id: String,
    /// `pending`, `accepted`, `rejected` or `superseded`.
    pub status: String,
    /// Probability that they are the same person.
    pub probability: f64,
    /// log2 odds (the sum of the prior and every field's weight).
    pub match_weight: f64,
    /// What proposed it: `entry` (a person was created or changed), `import`, `dedupe`, `manual`.
    pub origin: String,
    /// When it was proposed.
    pub created_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// The older record (present while both can be seen).
    pub a: Option<PersonView>,
    /// The newer record.
    pub b: Option<PersonView>,
    /// Per field: the level compared (`exact`, `nickname`, `missing`…) and its weight; the
    /// prior; guards that capped the decision.
    pub explanation: serde_json::Value,
}

/// A page of the review queue.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MatchPage {
    /// Proposals, most probable first.
    pub items: Vec<MatchView>,
    /// How many match the filters.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// Accept a proposal: merge the two people.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Which of the two survives (person id); default the older record (`a`).
    pub survivor: Option<String>,
    /// Per-field choice: field name → id of the person whose value to keep.
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// `most_recent`, `most_complete` or `most_trusted`; default from `matching.survivorship`.
    pub survivorship: Option<String>,
}

/// Reject a proposal: they are not the same person, and the pair is never proposed again.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why (kept in the audit log).
    pub reason: Option<String>,
}

/// The result of a rejection.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RejectResult {
    /// The proposal, now rejected.
    pub id: String,
    /// `rejected`.
    pub status: String,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = match_candidates)]
struct Candidate {
    public_id: String,
    person_a: i64,
    person_b: i64,
    probability: f64,
    match_weight: f64,
    explanation: String,
    status: String,
    origin: String,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

const STATUSES: [&str; 4] = ["pending", "accepted", "rejected", "superseded"];

fn score_bound(v: Option<f64>, field: &str, default: f64) -> AppResult<f64> {
    match v {
        None => Ok(default),
        Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
        Some(_) => Err(AppError::field(
            field,
            "out_of_range",
            "Give a probability from 0 to 1.",
        )),
    }
}

/// The filtered queue as a query (built twice: for the count and for the page).
fn filtered<'a>(
    ctx: &Ctx,
    status: &'a str,
    min: f64,
    max: f64,
    department: Option<i64>,
    person: Option<i64>,
) -> match_candidates::BoxedQuery<'a, Db> {
    let mut q = match_candidates::table
        .filter(match_candidates::status.eq(status))
        .filter(match_candidates::probability.ge(min))
        .filter(match_candidates::probability.le(max))
        .into_boxed::<Db>();
    if status == "pending" {
        let visible: &'static [&'static str] = if ctx.principal.can(Permission::SeeRestricted) {
            &["active", "restricted"]
        } else {
            &["active"]
        };
        let seen = || people::table.filter(people::status.eq_any(visible)).select(people::id);
        q = q
            .filter(match_candidates::person_a.eq_any(seen()))
            .filter(match_candidates::person_b.eq_any(seen()));
    }
    if let Some(p) = person {
        q = q.filter(match_candidates::person_a.eq(p).or(match_candidates::person_b.eq(p)));
    }
    if let Some(d) = department {
        let linked = || {
            person_departments::table
                .filter(person_departments::department_id.eq(d))
                .select(person_departments::person_id)
        };
        q = q.filter(
            match_candidates::person_a
                .eq_any(linked())
                .or(match_candidates::person_b.eq_any(linked())),
        );
    }
    if let Scope::Departments(mine) = &ctx.principal.scope {
        let linked = || {
            person_departments::table
                .filter(person_departments::department_id.eq_any(mine.clone()))
                .select(person_departments::person_id)
        };
        q = q
            .filter(match_candidates::person_a.eq_any(linked()))
            .filter(match_candidates::person_b.eq_any(linked()));
    }
    q
}

/// The review queue, most probable first.
pub fn list(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, q: &MatchQuery) -> AppResult<MatchPage> {
    let status = q.status.as_deref().unwrap_or("pending");
    if !STATUSES.contains(&status) {
        return Err(AppError::field(
            "status",
            "invalid_status",
            "Use pending, accepted, rejected or superseded.",
        ));
    }
    let min = score_bound(q.min_score, "min_score", 0.0)?;
    let max = score_bound(q.max_score, "max_score", 1.0)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field(
            "limit",
            "out_of_range",
            "Give a page size from 1 to 200.",
        ));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(AppError::field(
            "offset",
            "out_of_range",
            "The offset cannot be negative.",
        ));
    }
    let department = match &q.department {
        None => None,
        Some(code) => Some(
            crate::db::departments::find_by_code(conn, code)?
                .ok_or_else(|| AppError::field("department", "unknown_department", "There is no such department."))?
                .id,
        ),
    };
    let person = match &q.person {
        None => None,
        Some(id) => Some(crate::service::people::find_visible(conn, &ctx.principal, id)?.id),
    };
    let total: i64 = filtered(ctx, status, min, max, department, person)
        .count()
        .get_result(conn)?;
    let rows: Vec<Candidate> = filtered(ctx, status, min, max, department, person)
        .select(Candidate::as_select())
        .order((match_candidates::probability.desc(), match_candidates::id))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    let mut ids: Vec<i64> = rows.iter().flat_map(|r| [r.person_a, r.person_b]).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut found = dbp::find_many(conn, &ids)?;
    let see_restricted = ctx.principal.can(Permission::SeeRestricted);
    found.retain(|p| p.status == "active" || (p.status == "restricted" && see_restricted));
    let mut views: HashMap<i64, PersonView> = HashMap::new();
    let internal: Vec<i64> = found.iter().map(|p| p.id).collect();
    for (id, v) in internal.into_iter().zip(assemble(conn, found)?) {
        views.insert(id, v);
    }
    crate::service::people::audit_reads(ctx, sink, "person.review_read", views.values().map(|v| v.id.as_str()));
    let items = rows
        .into_iter()
        .map(|r| MatchView {
            a: views.get(&r.person_a).cloned(),
            b: views.get(&r.person_b).cloned(),
            explanation: serde_json::from_str(&r.explanation).unwrap_or(serde_json::Value::Null),
            id: r.public_id,
            status: r.status,
            probability: r.probability,
            match_weight: r.match_weight,
            origin: r.origin,
            created_at: r.created_at.and_utc(),
            decided_at: r.decided_at.map(|t| t.and_utc()),
        })
        .collect();
    Ok(MatchPage {
        items,
        total,
        limit,
        offset,
    })
}

/// A pending proposal and the public ids of its two people, both visible to the caller.
fn pending(conn: &mut DbConn, ctx: &Ctx, id: &str) -> AppResult<(Candidate, String, String)> {
    if !is_public_id(id) {
        return Err(AppError::NotFound);
    }
    // The two people first, then the proposal: the order a merge takes them in (it locks the
    // people, then settles proposals), so the two cannot wait for each other.
    let people: Option<(i64, i64)> = match_candidates::table
        .filter(match_candidates::public_id.eq(id))
        .select((match_candidates::person_a, match_candidates::person_b))
        .get_result(conn)
        .optional()?;
    if let Some((a, b)) = people {
        dbp::lock(conn, &[a, b], dbp::Lock::Update)?;
    }
    // Locked on PostgreSQL until the decision commits, so an accept and a reject of one
    // proposal at the same moment cannot both go through (SQLite's write lock does this there).
    let q = match_candidates::table.filter(match_candidates::public_id.eq(id));
    let c: Candidate = match conn {
        DbConn::Pg(pg) => q
            .select(Candidate::as_select())
            .for_update()
            .get_result(pg)
            .optional()?,
        DbConn::Sqlite(lite) => q.select(Candidate::as_select()).get_result(lite).optional()?,
    }
    .ok_or(AppError::NotFound)?;
    let a = dbp::find(conn, c.person_a)?.public_id;
    let b = dbp::find(conn, c.person_b)?.public_id;
    // Out of scope (or no longer visible) answers 404 like any other unseen record.
    crate::service::people::find_visible(conn, &ctx.principal, &a).map_err(|_| AppError::NotFound)?;
    crate::service::people::find_visible(conn, &ctx.principal, &b).map_err(|_| AppError::NotFound)?;
    if c.status != "pending" {
        return Err(AppError::conflict(
            "already_decided",
            format!("This proposal is already {}.", c.status),
        ));
    }
    Ok((c, a, b))
}

/// Accept: merge the two people (the older survives unless another survivor is named).
pub fn accept(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &AcceptRequest, rule: &str) -> AppResult<MergeResult> {
    write_tx(conn, |c| accept_pending(c, ctx, id, req, rule))
}

/// [`accept`], inside its transaction: the proposal is checked and the merge made in one.
fn accept_pending(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &AcceptRequest, rule: &str) -> AppResult<MergeResult> {
    let (_, a, b) = pending(conn, ctx, id)?;
    let (survivor, other) = match req.survivor.as_deref() {
        None => (a, b),
        Some(s) if s == a => (a, b),
        Some(s) if s == b => (b, a),
        Some(_) => {
            return Err(AppError::field(
                "survivor",
                "not_in_pair",
                "The survivor must be one of the two people of this proposal.",
            ))
        }
    };
    merge_people(
        conn,
        ctx,
        &survivor,
        &MergeRequest {
            merge: vec![other],
            fields: req.fields.clone(),
            survivorship: req.survivorship.clone(),
        },
        rule,
    )
}

/// Reject: "not the same person", for good.
pub fn reject(conn: &mut DbConn, ctx: &Ctx, id: &str, req: &RejectRequest) -> AppResult<RejectResult> {
    if req.reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AppError::field(
            "reason",
            "too_long",
            "Keep the reason under 500 characters.",
        ));
    }
    write_tx(conn, |c| {
        let (cand, a, b) = pending(c, ctx, id)?;
        settle_candidate(c, cand.person_a, cand.person_b, "rejected", ctx)?;
        let detail = serde_json::json!({"a": a, "b": b, "reason": req.reason});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "match.reject",
                Some(("match", id)),
                "success",
                Some(detail),
            ),
        )?;
        Ok(RejectResult {
            id: id.to_string(),
            status: "rejected".into(),
        })
    })
}
