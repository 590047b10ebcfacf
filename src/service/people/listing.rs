//! Listing and searching people: filters, paging, department scope, and the read audit of
//! every person a page of results shows.

use serde::{Deserialize, Serialize};

use super::view::{assemble, PersonSummary, PersonView};
use super::*;
use crate::db::people::{self as dbp, PersonFilter};
use crate::db::{self, DbConn};
use crate::error::{AppError, AppResult};
use crate::normalize::{email::parse_email, phone::normalize_phone, postcode::normalize_postcode, text::fold};
use crate::service::{audit, Ctx, Principal, Scope};

/// The query parameters of `GET /people`: only filters that say nothing about a person. Names,
/// emails, phones and postcodes never go in a URL (security anchor 56: URLs end up in browser
/// histories, proxies and logs); they are filters of `POST /people/list`, whose body is a
/// [`ListQuery`]. Given here anyway, each is refused with a field error saying so.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleParams {
    /// Tag.
    pub tag: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// `active` or `restricted` (default both).
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
    #[schemars(skip)]
    #[doc(hidden)]
    pub name: Option<String>,
    #[schemars(skip)]
    #[doc(hidden)]
    pub email: Option<String>,
    #[schemars(skip)]
    #[doc(hidden)]
    pub phone: Option<String>,
    #[schemars(skip)]
    #[doc(hidden)]
    pub postcode: Option<String>,
}

impl PeopleParams {
    /// The filters, or a field error for the first personal value given in the URL.
    pub fn into_query(self) -> AppResult<ListQuery> {
        let given = [
            ("name", self.name.is_some()),
            ("email", self.email.is_some()),
            ("phone", self.phone.is_some()),
            ("postcode", self.postcode.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(_, g)| *g) {
            return Err(AppError::field(
                field,
                "personal_data_in_url",
                format!("A {field} does not go in a URL, where browsers, proxies and logs keep it: send the filters as a JSON body to POST /api/v1/people/list."),
            ));
        }
        Ok(ListQuery {
            tag: self.tag,
            department: self.department,
            status: self.status,
            limit: self.limit,
            offset: self.offset,
            ..ListQuery::default()
        })
    }
}

/// List filters: the body of `POST /people/list` (and, without the personal ones, the query of
/// `GET /people`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Name prefix (given, family, preferred or full name; case- and accent-insensitive).
    pub name: Option<String>,
    /// Exact email address (any case).
    pub email: Option<String>,
    /// Phone number in any usual form.
    pub phone: Option<String>,
    /// Postcode in any usual form.
    pub postcode: Option<String>,
    /// Tag.
    pub tag: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// `active` or `restricted` (default both).
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
}

/// A page of people.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PersonPage {
    /// The people on this page, in a stable order.
    pub items: Vec<PersonView>,
    /// How many match in all.
    pub total: i64,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// Check paging parameters.
pub fn paging(limit: Option<i64>, offset: Option<i64>, max: i64) -> AppResult<(i64, i64)> {
    let limit = limit.unwrap_or(50);
    let offset = offset.unwrap_or(0);
    if !(1..=max).contains(&limit) {
        return Err(AppError::field(
            "limit",
            "out_of_range",
            format!("Use a limit from 1 to {max}."),
        ));
    }
    if offset < 0 {
        return Err(AppError::field(
            "offset",
            "out_of_range",
            "The offset cannot be negative.",
        ));
    }
    Ok((limit, offset))
}

fn scope_filter(p: &Principal) -> Option<Vec<i64>> {
    match &p.scope {
        Scope::All => None,
        Scope::Departments(d) => Some(d.clone()),
    }
}

/// List people with filters; each person returned is an audited read.
pub fn list(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, q: &ListQuery) -> AppResult<PersonPage> {
    let (limit, offset) = paging(q.limit, q.offset, 200)?;
    let bad = |f: &str, e: crate::normalize::NormalizeError| AppError::field(f, e.code, e.message);
    let mut filter = PersonFilter {
        name_prefix: q.name.as_deref().map(fold).filter(|n| !n.is_empty()),
        email_key: q
            .email
            .as_deref()
            .map(|e| parse_email(e).map(|e| e.key).map_err(|e| bad("email", e)))
            .transpose()?,
        phone: q
            .phone
            .as_deref()
            .map(|p| normalize_phone(p).map_err(|e| bad("phone", e)))
            .transpose()?,
        postcode: q
            .postcode
            .as_deref()
            .map(|p| normalize_postcode(p).map_err(|e| bad("postcode", e)))
            .transpose()?,
        tag: q.tag.as_ref().map(|t| t.trim().to_lowercase()),
        department: None,
        scope: scope_filter(&ctx.principal),
        statuses: match q.status.as_deref() {
            None => visible_statuses(&ctx.principal).iter().map(|s| s.to_string()).collect(),
            Some(s) if visible_statuses(&ctx.principal).contains(&s) => vec![s.to_string()],
            Some(_) => {
                return Err(AppError::field(
                    "status",
                    "invalid_status",
                    "Use active (or restricted, for the data protection officer).",
                ))
            }
        },
    };
    if let Some(code) = &q.department {
        let d = db::departments::find_by_code(conn, code)?
            .ok_or_else(|| AppError::field("department", "unknown_department", "There is no such department."))?;
        filter.department = Some(d.id);
    }
    let (rows, total) = dbp::list(conn, &filter, limit, offset, true)?;
    let items = assemble(conn, rows)?;
    audit_reads(ctx, sink, "person.list_read", items.iter().map(|p| p.id.as_str()));
    Ok(PersonPage {
        items,
        total: total.unwrap_or(0),
        limit,
        offset,
    })
}

/// One audit event naming every person shown.
pub(crate) fn audit_reads<'a>(
    ctx: &Ctx,
    sink: &audit::AuditSink,
    action: &str,
    public_ids: impl IntoIterator<Item = &'a str>,
) {
    let event = audit::event(&ctx.meta, Some(&ctx.principal), action, None, "success", None);
    sink.send_about_many(event, "person", public_ids.into_iter().map(str::to_string).collect());
}

/// Search request.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// An email address, a phone number, a postcode, or the start of a name.
    pub q: String,
    /// Most results, 1–50 (default 20).
    pub limit: Option<i64>,
}

/// Search results, best matches first (exact contact points before name prefixes).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SearchResults {
    /// Matching people, summarised (`GET /api/v1/people/{id}` has the whole record).
    pub items: Vec<PersonSummary>,
}

/// Find people by any email, phone, postcode or name prefix.
pub fn search(conn: &mut DbConn, ctx: &Ctx, sink: &audit::AuditSink, req: &SearchRequest) -> AppResult<SearchResults> {
    let (limit, _) = paging(Some(req.limit.unwrap_or(20)), None, 50)?;
    let q = req.q.trim();
    if q.is_empty() || q.chars().count() > 200 {
        return Err(AppError::field(
            "q",
            "invalid_query",
            "Give between 1 and 200 characters.",
        ));
    }
    let fetch = limit * 2 + 10;
    let mut ids: Vec<i64> = Vec::new();
    if q.contains('@') {
        if let Ok(e) = parse_email(q) {
            ids.extend(dbp::ids_by_email(conn, &e.key, fetch)?);
        }
    } else {
        if q.chars().filter(char::is_ascii_digit).count() >= 7 {
            if let Ok(n) = normalize_phone(q) {
                ids.extend(dbp::ids_by_phone(conn, &n, fetch)?);
            }
        }
        if let Ok(pc) = normalize_postcode(q) {
            let f = PersonFilter {
                postcode: Some(pc),
                ..Default::default()
            };
            ids.extend(dbp::list(conn, &f, fetch, 0, false)?.0.into_iter().map(|p| p.id));
        }
        let folded = fold(q);
        if !folded.is_empty() {
            ids.extend(dbp::ids_by_name_prefix(conn, &folded, fetch)?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    // Load only as many as the page needs (more only when some turn out not to be visible).
    let statuses = visible_statuses(&ctx.principal);
    let mut items: Vec<PersonSummary> = Vec::new();
    for batch in ids.chunks(limit as usize) {
        let mut found = dbp::summaries(conn, batch)?;
        for id in batch {
            let Some(at) = found.iter().position(|r| r.id == *id) else {
                continue;
            };
            let row = found.swap_remove(at);
            let linked: Vec<i64> = row.department_links().into_iter().map(|d| d.0).collect();
            if ctx.principal.in_scope(&linked) && statuses.contains(&row.status.as_str()) {
                items.push(row.into());
            }
        }
        if items.len() >= limit as usize {
            break;
        }
    }
    items.truncate(limit as usize);
    audit_reads(ctx, sink, "person.search_read", items.iter().map(|p| p.id.as_str()));
    Ok(SearchResults { items })
}
