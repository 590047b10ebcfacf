//! Segments: saved filters over people, evaluated when used.
//!
//! Policy: a filter is parsed by [`crate::campaigns_core::segment`] (a closed grammar: unknown
//! fields or operators are a 422 with the JSON path of the fault). Each leaf becomes one fixed,
//! parameterised query returning person ids; `and`/`or`/`not` are set operations in memory
//! against the universe, which is every **active** person — restricted, erased and merged-away
//! people are never in a segment. No text of a filter ever becomes SQL.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::campaigns_core::segment::{self, Expr};
use crate::db::schema::{people, person_departments};
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::audit;
use crate::service::{new_public_id, Ctx};

mod evaluate;

pub use self::evaluate::evaluate;

/// A segment as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SegmentView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The filter (canonical form).
    pub definition: serde_json::Value,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Counts changes; send it back as `If-Match: "v<version>"` when changing the segment.
    pub version: i64,
}

/// A new segment.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSegmentRequest {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The filter expression (see the README for the grammar).
    pub definition: serde_json::Value,
}

/// A change to a saved segment: what is left out stays as it was.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSegmentRequest {
    /// Name.
    pub name: Option<String>,
    /// Description (an empty text clears it).
    pub description: Option<String>,
    /// The filter expression.
    pub definition: Option<serde_json::Value>,
}

/// A preview of a filter or a saved segment.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A filter to try (for a saved segment, leave out).
    pub definition: Option<serde_json::Value>,
    /// How many people to show (0–50, default 10).
    pub sample: Option<usize>,
}

/// One person in a preview.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SamplePerson {
    /// Public id.
    pub id: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
}

/// How many people a filter selects now, and a few of them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SegmentPreview {
    /// People selected.
    pub count: usize,
    /// A sample (the lowest ids; for a user held to departments, only their departments' people).
    pub sample: Vec<SamplePerson>,
}

fn view(s: &db::campaigns::Segment) -> SegmentView {
    SegmentView {
        id: s.public_id.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        definition: serde_json::from_str(&s.definition).unwrap_or(serde_json::Value::Null),
        created_at: s.created_at.and_utc(),
        updated_at: s.updated_at.and_utc(),
        version: s.version,
    }
}

/// Parse a filter, turning its faults into field errors under `definition`.
pub fn parse(definition: &serde_json::Value) -> AppResult<Expr> {
    segment::parse(definition).map_err(|errors| {
        AppError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("definition{}", e.path), "invalid_filter", e.message))
                .collect(),
        )
    })
}

/// Save a segment.
pub fn create(conn: &mut DbConn, ctx: &Ctx, req: &NewSegmentRequest) -> AppResult<SegmentView> {
    let expr = parse(&req.definition)?;
    let name = super::required_text("name", &req.name, 200)?;
    let definition = serde_json::to_string(&expr).map_err(|e| AppError::Internal(e.to_string()))?;
    let now = ctx.meta.now;
    write_tx(conn, |c| {
        let s = db::campaigns::insert_segment(
            c,
            &db::campaigns::Segment {
                id: 0,
                public_id: new_public_id(),
                name,
                description: req.description.clone(),
                definition,
                created_by: ctx.principal.user_id,
                created_at: now,
                updated_at: now,
                version: 1,
            },
        )?;
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "segment.create",
                Some(("segment", &s.public_id)),
                "success",
                None,
            ),
        )?;
        Ok(view(&s))
    })
}

/// Change a segment, while no campaign past its draft uses it (`if_match`: the version the
/// caller read).
pub fn update(
    conn: &mut DbConn,
    ctx: &Ctx,
    public_id: &str,
    if_match: Option<i64>,
    req: &UpdateSegmentRequest,
) -> AppResult<SegmentView> {
    let definition = match &req.definition {
        Some(d) => Some(serde_json::to_string(&parse(d)?).map_err(|e| AppError::Internal(e.to_string()))?),
        None => None,
    };
    let name = req
        .name
        .as_deref()
        .map(|n| super::required_text("name", n, 200))
        .transpose()?;
    let description = req
        .description
        .as_deref()
        .map(|d| crate::service::optional_text("description", Some(d), 1000))
        .transpose()
        .map_err(|e| AppError::Validation(vec![e]))?;
    write_tx(conn, |c| {
        let used = db::campaigns::Used::Segment(find(c, public_id)?.id);
        db::campaigns::lock_used(c, used, true)?;
        let old = db::campaigns::segment(c, used.id())?;
        super::may_change(c, used, old.version, if_match)?;
        let changes = db::campaigns::SegmentChanges {
            name: name.clone().unwrap_or_else(|| old.name.clone()),
            description: description.clone().unwrap_or_else(|| old.description.clone()),
            definition: definition.clone().unwrap_or_else(|| old.definition.clone()),
            updated_at: ctx.meta.now,
        };
        if (&changes.name, &changes.description, &changes.definition) == (&old.name, &old.description, &old.definition)
        {
            return Ok(view(&old)); // Nothing changes: no new version, nothing to audit.
        }
        let s = db::campaigns::update_segment(c, old.id, &changes)?;
        super::audit_now(c, ctx, "segment.update", "segment", &s.public_id)?;
        Ok(view(&s))
    })
}

/// Every segment.
pub fn list(conn: &mut DbConn) -> AppResult<Vec<SegmentView>> {
    Ok(db::campaigns::list_segments(conn)?.iter().map(view).collect())
}

/// One segment.
pub fn get(conn: &mut DbConn, public_id: &str) -> AppResult<SegmentView> {
    Ok(view(&find(conn, public_id)?))
}

/// A segment by public id, or 404.
pub fn find(conn: &mut DbConn, public_id: &str) -> AppResult<db::campaigns::Segment> {
    db::campaigns::find_segment(conn, public_id)?.ok_or(AppError::NotFound)
}

/// Count and sample a saved segment (`public_id`) or an ad-hoc filter. The sample names people:
/// it is audited as one `segment.preview` event about them.
pub fn preview(
    conn: &mut DbConn,
    ctx: &Ctx,
    sink: &audit::AuditSink,
    public_id: Option<&str>,
    req: &PreviewRequest,
) -> AppResult<SegmentPreview> {
    let expr = match (public_id, &req.definition) {
        (Some(id), None) => stored_expr(&find(conn, id)?)?,
        (None, Some(d)) => parse(d)?,
        _ => {
            return Err(AppError::field(
                "definition",
                "definition_required",
                "Give a definition to preview (or preview a saved segment without one).",
            ))
        }
    };
    let n = req.sample.unwrap_or(10);
    if n > 50 {
        return Err(AppError::field("sample", "out_of_range", "Between 0 and 50."));
    }
    let ids = evaluate(conn, &expr, ctx.meta.now)?;
    // The count is the campaign's audience; the names are only of people the user may see (a
    // department editor who also manages campaigns sees their departments' people only).
    let head: Vec<i64> = match &ctx.principal.scope {
        crate::service::authz::Scope::All => ids.iter().take(n).copied().collect(),
        crate::service::authz::Scope::Departments(mine) => {
            let mut head = Vec::with_capacity(n);
            for part in ids.chunks(1_000) {
                if head.len() >= n {
                    break;
                }
                let mut seen: Vec<i64> = person_departments::table
                    .filter(person_departments::person_id.eq_any(part))
                    .filter(person_departments::department_id.eq_any(mine))
                    .select(person_departments::person_id)
                    .distinct()
                    .load(conn)?;
                seen.sort_unstable();
                head.extend(seen.into_iter().take(n - head.len()));
            }
            head
        }
    };
    let sample = people::table
        .filter(people::id.eq_any(&head))
        .select((people::public_id, people::given_name, people::family_name))
        .order(people::id)
        .load::<(String, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, given_name, family_name)| SamplePerson {
            id,
            given_name,
            family_name,
        })
        .collect::<Vec<SamplePerson>>();
    let detail = serde_json::json!({"segment": public_id, "count": ids.len()});
    sink.send_about_many(
        audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "segment.preview",
            None,
            "success",
            Some(detail),
        ),
        "person",
        sample.iter().map(|p| p.id.clone()).collect(),
    );
    Ok(SegmentPreview {
        count: ids.len(),
        sample,
    })
}

/// The stored filter of a segment.
pub fn stored_expr(s: &db::campaigns::Segment) -> AppResult<Expr> {
    segment::parse_str(&s.definition)
        .map_err(|_| AppError::Internal(format!("segment {} holds an invalid filter", s.public_id)))
}
