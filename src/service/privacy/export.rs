//! Subject access export (UK GDPR Art. 15): everything held about a person, as one JSON document
//! and as CSV, generated from the data map.

use serde::Serialize;
use serde_json::{Map, Value};

use super::datamap::DATA_MAP;
use super::sql::rows_as_json;
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::consent::{consents_of, ConsentsView};
use crate::service::people::view::{assemble, PersonView};
use crate::service::{audit, Ctx};

/// The export document.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SubjectAccessExport {
    /// The person's id.
    pub subject: String,
    /// When generated (UTC).
    pub generated_at: chrono::DateTime<chrono::Utc>,
    /// The golden record with the provenance of every value.
    pub person: PersonView,
    /// Consent state and history.
    pub consents: ConsentsView,
    /// Every row held about the person, table by table, as the data map lists them (this
    /// includes source records, engagement, communications, merges and the audit of access).
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub tables: Map<String, Value>,
}

/// Build the export for a person (any status but erased). The export itself is audited.
pub fn export(conn: &mut DbConn, ctx: &Ctx, public_id: &str) -> AppResult<SubjectAccessExport> {
    let person = crate::service::people::find_visible(conn, &ctx.principal, public_id)?;
    let mut tables = Map::new();
    for entry in DATA_MAP.iter().filter(|e| e.export) {
        let rows = rows_as_json(conn, entry, person.id, &person.public_id)?;
        tables.insert(entry.table.to_string(), Value::Array(rows));
    }
    let consents = consents_of(conn, person.id, ctx.meta.now)?;
    let current = db::people::find(conn, person.id)?;
    let view = assemble(conn, vec![current])?.pop().ok_or(AppError::NotFound)?;
    audit::record(
        conn,
        audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "person.export",
            Some(("person", public_id)),
            "success",
            None,
        ),
    )?;
    Ok(SubjectAccessExport {
        subject: person.public_id,
        generated_at: ctx.meta.now.and_utc(),
        person: view,
        consents,
        tables,
    })
}

/// A CSV cell: RFC 4180 quoting, and formula neutralisation (a leading `= + - @`, tab, CR or NUL
/// gets a `'` so spreadsheets show it as text); the one rule every CSV the service writes follows.
pub use crate::import_core::csv_cell;

/// The export as CSV: `section,record,field,value`, one line per value.
pub fn to_csv(doc: &SubjectAccessExport) -> String {
    let mut out = String::from("section,record,field,value\r\n");
    let mut push = |section: &str, record: usize, field: &str, value: &Value| {
        let text = match value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            csv_cell(section),
            record,
            csv_cell(field),
            csv_cell(&text)
        ));
    };
    let mut flatten = |section: &str, records: &[Value]| {
        for (i, r) in records.iter().enumerate() {
            if let Value::Object(map) = r {
                for (k, v) in map {
                    push(section, i + 1, k, v);
                }
            }
        }
    };
    if let Ok(Value::Object(person)) = serde_json::to_value(&doc.person) {
        flatten("person", &[Value::Object(person)]);
    }
    if let Ok(Value::Array(state)) = serde_json::to_value(&doc.consents.state) {
        flatten("consent_state", &state);
    }
    if let Ok(Value::Array(history)) = serde_json::to_value(&doc.consents.history) {
        flatten("consent_history", &history);
    }
    for (table, rows) in &doc.tables {
        if let Value::Array(rows) = rows {
            flatten(table, rows);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_neutralised_and_quoted() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
