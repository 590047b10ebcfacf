//! Segments, templates, campaigns and the outbox.
//!
//! Policy: the outbox is the campaign's memory. A row is written per recipient when the campaign
//! starts; a worker *claims* due rows (status `sending`, `claimed_until` in the future) and settles
//! each one (`sent`, `skipped`, `failed`, back to `queued` with a later `next_attempt_at`). A claim
//! that expires (its worker died) makes the row claimable again. On PostgreSQL several instances
//! claim with `FOR UPDATE SKIP LOCKED`; on SQLite the claim runs inside `BEGIN IMMEDIATE`, which
//! serialises claimers.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::schema::{campaigns, outbox, segments, templates};
use super::DbConn;

/// A saved segment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = segments)]
pub struct Segment {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The filter, canonical JSON.
    pub definition: String,
    /// Author.
    pub created_by: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
    /// Counts changes (the ETag).
    pub version: i64,
}

/// A template.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = templates)]
pub struct Template {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Name.
    pub name: String,
    /// Subject template.
    pub subject: String,
    /// HTML body template.
    pub html_body: String,
    /// Plain-text body template.
    pub text_body: String,
    /// Author.
    pub created_by: i64,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
    /// Counts changes (the ETag).
    pub version: i64,
}

/// What a segment or template change sets.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = segments, treat_none_as_null = true)]
pub struct SegmentChanges {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The filter, canonical JSON.
    pub definition: String,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// What a template change sets.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = templates)]
pub struct TemplateChanges {
    /// Name.
    pub name: String,
    /// Subject template.
    pub subject: String,
    /// HTML body template.
    pub html_body: String,
    /// Plain-text body template.
    pub text_body: String,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// What a campaign uses: its segment or its template.
#[derive(Debug, Clone, Copy)]
pub enum Used {
    /// A segment (by id).
    Segment(i64),
    /// A template (by id).
    Template(i64),
}

impl Used {
    /// The row's id.
    pub fn id(self) -> i64 {
        match self {
            Used::Segment(id) | Used::Template(id) => id,
        }
    }
}

/// Lock a segment or template row against a change (`exclusive`) or against a change while it is
/// being relied on (a campaign's approval): PostgreSQL row locks; SQLite's write transactions
/// already run one at a time.
pub fn lock_used(conn: &mut DbConn, used: Used, exclusive: bool) -> QueryResult<()> {
    let DbConn::Pg(c) = conn else {
        return Ok(());
    };
    // Both names are constants; the id is bound.
    let table = match used {
        Used::Segment(_) => "segments",
        Used::Template(_) => "templates",
    };
    let mode = if exclusive { "UPDATE" } else { "SHARE" };
    diesel::sql_query(format!("SELECT id FROM {table} WHERE id = $1 FOR {mode}"))
        .bind::<BigInt, _>(used.id())
        .execute(c)?;
    Ok(())
}

/// Whether a campaign past its draft (approved, sending, sent, cancelled) uses a segment or
/// template.
pub fn used_past_draft(conn: &mut DbConn, used: Used) -> QueryResult<bool> {
    let q = campaigns::table
        .filter(campaigns::status.ne("draft"))
        .select(campaigns::id)
        .into_boxed::<super::people::Db>();
    let q = match used {
        Used::Segment(id) => q.filter(campaigns::segment_id.eq(id)),
        Used::Template(id) => q.filter(campaigns::template_id.eq(id)),
    };
    Ok(q.first::<i64>(conn).optional()?.is_some())
}

/// Change a segment and count the change.
pub fn update_segment(conn: &mut DbConn, id: i64, changes: &SegmentChanges) -> QueryResult<Segment> {
    crate::with_backend!(conn, |c| diesel::update(segments::table.find(id))
        .set((changes, segments::version.eq(segments::version + 1)))
        .returning(Segment::as_returning())
        .get_result(c))
}

/// Change a template and count the change.
pub fn update_template(conn: &mut DbConn, id: i64, changes: &TemplateChanges) -> QueryResult<Template> {
    crate::with_backend!(conn, |c| diesel::update(templates::table.find(id))
        .set((changes, templates::version.eq(templates::version + 1)))
        .returning(Template::as_returning())
        .get_result(c))
}

/// A campaign.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Name.
    pub name: String,
    /// Segment.
    pub segment_id: i64,
    /// Template.
    pub template_id: i64,
    /// Purpose (consent).
    pub purpose_id: i64,
    /// Owning department.
    pub department_id: i64,
    /// Channel (`email`).
    pub channel: String,
    /// Sender identity shown to recipients.
    pub sender_name: String,
    /// draft / approved / sending / sent / cancelled.
    pub status: String,
    /// Audience when started (or last previewed).
    pub audience_size: Option<i64>,
    /// Author.
    pub created_by: i64,
    /// Approver.
    pub approved_by: Option<i64>,
    /// Approved.
    pub approved_at: Option<NaiveDateTime>,
    /// Started.
    pub started_at: Option<NaiveDateTime>,
    /// Finished.
    pub finished_at: Option<NaiveDateTime>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// One recipient of a campaign.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, QueryableByName)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct OutboxRow {
    /// Id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// Person.
    pub person_id: i64,
    /// Unique reference carried by the message (`X-Lighthouse-Message`, Message-ID).
    pub message_ref: String,
    /// queued / sending / sent / skipped / failed / bounced / cancelled.
    pub status: String,
    /// Why skipped (the contact decision's reason).
    pub skip_reason: Option<String>,
    /// Attempts so far.
    pub attempts: i32,
    /// Not before.
    pub next_attempt_at: NaiveDateTime,
    /// Worker holding the claim.
    pub claimed_by: Option<String>,
    /// Claim expiry.
    pub claimed_until: Option<NaiveDateTime>,
    /// Last error.
    pub last_error: Option<String>,
    /// Sent.
    pub sent_at: Option<NaiveDateTime>,
    /// Changed.
    pub updated_at: NaiveDateTime,
}

/// Insert a segment.
pub fn insert_segment(conn: &mut DbConn, s: &Segment) -> QueryResult<Segment> {
    crate::with_backend!(conn, |c| diesel::insert_into(segments::table)
        .values(s)
        .returning(Segment::as_returning())
        .get_result(c))
}

/// A segment by public id.
pub fn find_segment(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Segment>> {
    segments::table
        .filter(segments::public_id.eq(public_id))
        .select(Segment::as_select())
        .first(conn)
        .optional()
}

/// A segment by id.
pub fn segment(conn: &mut DbConn, id: i64) -> QueryResult<Segment> {
    segments::table.find(id).select(Segment::as_select()).first(conn)
}

/// Every segment, newest first.
pub fn list_segments(conn: &mut DbConn) -> QueryResult<Vec<Segment>> {
    segments::table
        .select(Segment::as_select())
        .order(segments::id.desc())
        .load(conn)
}

/// Insert a template.
pub fn insert_template(conn: &mut DbConn, t: &Template) -> QueryResult<Template> {
    crate::with_backend!(conn, |c| diesel::insert_into(templates::table)
        .values(t)
        .returning(Template::as_returning())
        .get_result(c))
}

/// A template by public id.
pub fn find_template(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Template>> {
    templates::table
        .filter(templates::public_id.eq(public_id))
        .select(Template::as_select())
        .first(conn)
        .optional()
}

/// A template by id.
pub fn template(conn: &mut DbConn, id: i64) -> QueryResult<Template> {
    templates::table.find(id).select(Template::as_select()).first(conn)
}

/// Every template, newest first.
pub fn list_templates(conn: &mut DbConn) -> QueryResult<Vec<Template>> {
    templates::table
        .select(Template::as_select())
        .order(templates::id.desc())
        .load(conn)
}

/// Insert a campaign.
pub fn insert_campaign(conn: &mut DbConn, c: &Campaign) -> QueryResult<Campaign> {
    crate::with_backend!(conn, |x| diesel::insert_into(campaigns::table)
        .values(c)
        .returning(Campaign::as_returning())
        .get_result(x))
}

/// A campaign by public id.
pub fn find_campaign(conn: &mut DbConn, public_id: &str) -> QueryResult<Option<Campaign>> {
    campaigns::table
        .filter(campaigns::public_id.eq(public_id))
        .select(Campaign::as_select())
        .first(conn)
        .optional()
}

/// A campaign by id.
pub fn campaign(conn: &mut DbConn, id: i64) -> QueryResult<Campaign> {
    campaigns::table.find(id).select(Campaign::as_select()).first(conn)
}

/// Campaigns, newest first.
pub fn list_campaigns(conn: &mut DbConn, limit: i64, offset: i64) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .select(Campaign::as_select())
        .order(campaigns::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)
}

/// Set a campaign's status (and the columns that go with it).
pub fn set_campaign_status(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    approved_by: Option<i64>,
    audience: Option<i64>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let target = campaigns::table.find(id);
    let n = diesel::update(target)
        .set((campaigns::status.eq(status), campaigns::updated_at.eq(at)))
        .execute(conn)?;
    match status {
        "approved" => diesel::update(target)
            .set((
                campaigns::approved_by.eq(approved_by),
                campaigns::approved_at.eq(Some(at)),
            ))
            .execute(conn)?,
        "sending" => diesel::update(target)
            .set((
                campaigns::started_at.eq(Some(at)),
                campaigns::audience_size.eq(audience),
            ))
            .execute(conn)?,
        "sent" | "cancelled" => diesel::update(target)
            .set(campaigns::finished_at.eq(Some(at)))
            .execute(conn)?,
        _ => 0,
    };
    Ok(n)
}

/// Write outbox rows (the audience), ignoring any already there.
pub fn insert_outbox(conn: &mut DbConn, rows: &[OutboxRow]) -> QueryResult<usize> {
    let mut n = 0;
    for chunk in rows.chunks(1000) {
        n += crate::with_backend!(conn, |c| diesel::insert_into(outbox::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(n)
}

/// Claim up to `limit` due rows for `worker` until `until`: rows whose previous claim expired (a
/// worker died) first, then queued rows whose time has come, oldest due first. Each branch is an
/// ordered range of the `outbox_due` index, so a claim costs the same with 10 or 1,000,000 rows
/// queued. Must run in a write transaction.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut rows = claim_branch(conn, worker, now, until, limit, "sending", "claimed_until")?;
    let rest = limit - rows.len() as i64;
    if rest > 0 {
        rows.extend(claim_branch(
            conn,
            worker,
            now,
            until,
            rest,
            "queued",
            "next_attempt_at",
        )?);
    }
    Ok(rows)
}

/// One branch of [`claim`]: rows in `status` whose `due_column` is at or before now. Both names
/// are fixed by the caller, never input.
fn claim_branch(
    conn: &mut DbConn,
    worker: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
    status: &'static str,
    due_column: &'static str,
) -> QueryResult<Vec<OutboxRow>> {
    // For `sending` rows the index narrows by status; the few rows in flight are then filtered.
    let order = if status == "queued" {
        "ORDER BY next_attempt_at"
    } else {
        ""
    };
    match conn {
        DbConn::Pg(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = 'sending', claimed_by = $1, claimed_until = $2, updated_at = $3 \
             WHERE id IN (SELECT id FROM outbox WHERE status = '{status}' AND {due_column} <= $3 {order} \
             LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING *"
        ))
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c),
        DbConn::Sqlite(c) => diesel::sql_query(format!(
            "UPDATE outbox SET status = 'sending', claimed_by = ?, claimed_until = ?, updated_at = ? \
             WHERE id IN (SELECT id FROM outbox WHERE status = '{status}' AND {due_column} <= ? {order} LIMIT ?) \
             RETURNING *"
        ))
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(c),
    }
}

/// How one claimed row ended.
#[derive(Debug, Clone)]
pub struct Settle<'a> {
    /// New status.
    pub status: &'a str,
    /// Skip reason.
    pub skip_reason: Option<&'a str>,
    /// Error text.
    pub error: Option<String>,
    /// Retry time (status `queued`).
    pub next_attempt_at: Option<NaiveDateTime>,
    /// Whether this was an attempt at sending (counts towards `max_attempts`).
    pub attempted: bool,
}

/// Settle a row this worker still holds; false if the claim was lost (another worker took it).
pub fn settle(conn: &mut DbConn, id: i64, worker: &str, s: &Settle, now: NaiveDateTime) -> QueryResult<bool> {
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::status.eq("sending"))
        .filter(outbox::claimed_by.eq(worker));
    let n = diesel::update(target)
        .set((
            outbox::status.eq(s.status),
            outbox::skip_reason.eq(s.skip_reason),
            outbox::last_error.eq(&s.error),
            outbox::attempts.eq(outbox::attempts + i32::from(s.attempted)),
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 1 {
        if let Some(t) = s.next_attempt_at {
            diesel::update(outbox::table.find(id))
                .set(outbox::next_attempt_at.eq(t))
                .execute(conn)?;
        }
        if s.status == "sent" {
            diesel::update(outbox::table.find(id))
                .set(outbox::sent_at.eq(Some(now)))
                .execute(conn)?;
        }
    }
    Ok(n == 1)
}

/// Counts of a campaign's outbox by status and skip reason.
pub fn outbox_counts(conn: &mut DbConn, campaign_id: i64) -> QueryResult<Vec<(String, Option<String>, i64)>> {
    outbox::table
        .filter(outbox::campaign_id.eq(campaign_id))
        .group_by((outbox::status, outbox::skip_reason))
        .select((outbox::status, outbox::skip_reason, diesel::dsl::count_star()))
        .load(conn)
}

/// Cancel every row of a campaign not yet sent or being sent.
pub fn cancel_outbox(conn: &mut DbConn, campaign_id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::campaign_id.eq(campaign_id))
            .filter(outbox::status.eq("queued")),
    )
    .set((outbox::status.eq("cancelled"), outbox::updated_at.eq(now)))
    .execute(conn)
}

/// Campaigns still sending whose outbox has nothing left to do.
pub fn finished_campaigns(conn: &mut DbConn) -> QueryResult<Vec<i64>> {
    let sending: Vec<i64> = campaigns::table
        .filter(campaigns::status.eq("sending"))
        .select(campaigns::id)
        .load(conn)?;
    let mut done = Vec::new();
    for id in sending {
        let open: i64 = outbox::table
            .filter(outbox::campaign_id.eq(id))
            .filter(outbox::status.eq_any(["queued", "sending"]))
            .count()
            .get_result(conn)?;
        if open == 0 {
            done.push(id);
        }
    }
    Ok(done)
}

/// The row that carried `message_ref`.
pub fn find_message(conn: &mut DbConn, message_ref: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .filter(outbox::message_ref.eq(message_ref))
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// Mark a sent message bounced.
pub fn mark_bounced(conn: &mut DbConn, id: i64, error: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("bounced"),
            outbox::last_error.eq(Some(error)),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)
}
