//! What became of each row of an import: the row list and the downloadable error report.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::find;
use crate::db::people::Db;
use crate::db::schema::import_rows;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::service::{audit, Ctx};

/// Filters of the row list.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RowQuery {
    /// Only rows with this outcome.
    pub outcome: Option<String>,
    /// Page size, 1–500 (default 100).
    pub limit: Option<i64>,
    /// Rows after this row number (default from the start).
    pub after: Option<i64>,
}

/// One row's outcome.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RowView {
    /// Row number as a spreadsheet shows it.
    pub row: i64,
    /// create, link, review, duplicate, unchanged or reject.
    pub outcome: String,
    /// The person it created or was linked to (after the commit), or would be linked to.
    pub person: Option<String>,
    /// Earlier row of the same file this one duplicates.
    pub duplicate_of: Option<i64>,
    /// Match probability when linked or proposed.
    pub match_score: Option<f64>,
    /// The row's external id.
    pub external_id: Option<String>,
    /// Errors (rejected rows) and warnings.
    pub problems: serde_json::Value,
    /// Whether the commit applied it.
    pub applied: bool,
}

/// A page of rows.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RowPage {
    /// Rows in file order.
    pub items: Vec<RowView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<i64>,
}

const OUTCOMES: [&str; 6] = ["create", "link", "review", "duplicate", "unchanged", "reject"];

#[derive(Queryable)]
struct RowRecord {
    row_number: i64,
    outcome: String,
    person: Option<String>,
    person_status: Option<String>,
    duplicate_of: Option<i64>,
    match_score: Option<f64>,
    external_id: Option<String>,
    problems: String,
    applied: bool,
}

fn row_records(
    conn: &mut DbConn,
    batch_id: i64,
    outcome: Option<&str>,
    after: i64,
    limit: i64,
) -> AppResult<Vec<RowRecord>> {
    use crate::db::schema::people;
    let mut q = import_rows::table
        .left_join(people::table.on(people::id.nullable().eq(import_rows::person_id)))
        .filter(import_rows::batch_id.eq(batch_id))
        .filter(import_rows::row_number.gt(after))
        .into_boxed::<Db>();
    if let Some(o) = outcome {
        q = q.filter(import_rows::outcome.eq(o.to_string()));
    }
    Ok(q.select((
        import_rows::row_number,
        import_rows::outcome,
        people::public_id.nullable(),
        people::status.nullable(),
        import_rows::duplicate_of,
        import_rows::match_score,
        import_rows::external_id,
        import_rows::problems,
        import_rows::applied,
    ))
    .order(import_rows::row_number)
    .limit(limit)
    .load::<RowRecord>(conn)?)
}

/// Row outcomes, in file order.
/// Audited as `import.rows.read`: an event about the import, and one naming the people the page
/// showed.
pub fn rows(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, id: &str, q: &RowQuery) -> AppResult<RowPage> {
    let b = find(conn, ctx, id)?;
    if let Some(o) = &q.outcome {
        if !OUTCOMES.contains(&o.as_str()) {
            return Err(AppError::field(
                "outcome",
                "invalid",
                "Use create, link, review, duplicate, unchanged or reject.",
            ));
        }
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(AppError::field(
            "limit",
            "out_of_range",
            "Give a page size from 1 to 500.",
        ));
    }
    let recs = row_records(conn, b.id, q.outcome.as_deref(), q.after.unwrap_or(0), limit)?;
    let next_after = (recs.len() as i64 == limit)
        .then(|| recs.last().map(|r| r.row_number))
        .flatten();
    // A restricted person is hidden from whoever may not see restricted people, here as anywhere.
    let see_restricted = ctx.principal.can(crate::service::authz::Permission::SeeRestricted);
    let items = recs
        .into_iter()
        .map(|r| RowView {
            row: r.row_number,
            outcome: r.outcome,
            person: r
                .person
                .filter(|_| see_restricted || r.person_status.as_deref() != Some("restricted")),
            duplicate_of: r.duplicate_of,
            match_score: r.match_score,
            external_id: r.external_id,
            problems: serde_json::from_str(&r.problems).unwrap_or(serde_json::Value::Null),
            applied: r.applied,
        })
        .collect::<Vec<RowView>>();
    let detail = serde_json::json!({"import": id, "rows": items.len(), "outcome": q.outcome});
    let event = audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "import.rows.read",
        Some(("import", id)),
        "success",
        Some(detail),
    );
    // One event about the import and, when the page showed people, one naming them (so both the
    // import's and each person's trail list it).
    sink.send(event.clone());
    let people: Vec<String> = items.iter().filter_map(|r| r.person.clone()).collect();
    sink.send_about_many(event, "person", people);
    Ok(RowPage { items, next_after })
}

/// The error report: every rejected row and every row with warnings, as CSV (spreadsheet
/// formulas neutralised).
/// Audited as `import.errors.read`: the rows hold what the file's cells said.
pub fn error_report(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, id: &str) -> AppResult<Vec<u8>> {
    let b = find(conn, ctx, id)?;
    sink.send(audit::event(
        &ctx.meta,
        Some(&ctx.principal),
        "import.errors.read",
        Some(("import", id)),
        "success",
        None,
    ));
    let mut out = Vec::new();
    crate::import_core::write_csv_row(
        &mut out,
        &["row", "external_id", "outcome", "severity", "column", "code", "message"],
    )
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut after = 0;
    loop {
        let recs = row_records(conn, b.id, None, after, 5_000)?;
        let Some(last) = recs.last() else { break };
        after = last.row_number;
        for r in &recs {
            let problems: Vec<serde_json::Value> = serde_json::from_str(&r.problems).unwrap_or_default();
            for p in problems {
                let text = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                let severity = if r.outcome == "reject" { "error" } else { "warning" };
                let row = r.row_number.to_string();
                crate::import_core::write_csv_row(
                    &mut out,
                    &[
                        &row,
                        r.external_id.as_deref().unwrap_or(""),
                        &r.outcome,
                        severity,
                        &text("column"),
                        &text("code"),
                        &text("message"),
                    ],
                )
                .map_err(|e| AppError::Internal(e.to_string()))?;
            }
        }
    }
    Ok(out)
}
