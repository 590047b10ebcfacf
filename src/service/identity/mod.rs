//! Identity resolution: one golden record per person. Merges (with exact unmerge), the review
//! queue of possible duplicates, incremental linking of new source records, and the
//! whole-database dedupe pass.

pub mod dedupe;
pub mod dedupe_job;
pub mod index;
pub mod matcher;
pub mod merge;
pub mod review;

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use self::merge::{move_rows, restore_merged, restore_survivor, snapshot, PersonSnapshot};
use crate::db::people::{self as dbp, Person, ProvenanceRow};
use crate::db::schema::{match_candidates, merges, people};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::service::people::input::person_fields;
use crate::service::people::view::{assemble, PersonView};
use crate::service::{audit, is_public_id, new_public_id, Ctx, Principal};

/// After a person was created or changed: refresh their blocking keys and propose the people
/// they may duplicate for review (a staff entry is never merged automatically). Returns the
/// number of new proposals.
pub fn after_change(conn: &mut DbConn, ctx: &Ctx, person_id: i64) -> AppResult<usize> {
    index::refresh(conn, &[person_id])?;
    let records = index::records_of(conn, &[person_id])?;
    let Some((_, record)) = records.first() else {
        return Ok(0);
    };
    let prepared = crate::matching::Prepared::from_record(record);
    let matcher = matcher::Matcher::load(conn, &ctx.matching)?;
    let mut proposed = 0;
    for m in matcher.matches(conn, &prepared, &[person_id])? {
        if matcher::propose(conn, person_id, m.person_id, &m.score, "entry", ctx.meta.now)? {
            proposed += 1;
        }
    }
    Ok(proposed)
}

/// Merge people into this one.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// Ids of the people to merge into the survivor (the person in the path).
    pub merge: Vec<String>,
    /// Per-field choice: field name → id of the person whose value to keep (overrides the rule).
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// `most_recent`, `most_complete` or `most_trusted`; default from `matching.survivorship`.
    pub survivorship: Option<String>,
}

/// The result of a merge.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MergeResult {
    /// Merge id (use it to unmerge).
    pub merge: String,
    /// The survivor as it is now.
    pub person: PersonView,
    /// The ids merged into it (they now redirect to the survivor).
    pub merged: Vec<String>,
}

/// Undo a merge.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmergeRequest {
    /// The merge to undo; default the survivor's latest merge not yet undone.
    pub merge: Option<String>,
}

/// The result of an unmerge.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UnmergeResult {
    /// The merge undone.
    pub merge: String,
    /// The people restored, survivor first.
    pub people: Vec<PersonView>,
}

const FIELDS: [&str; 6] = [
    "title",
    "given_name",
    "family_name",
    "preferred_name",
    "date_of_birth",
    "organisation",
];

fn field_value(p: &Person, f: &str) -> Option<String> {
    match f {
        "title" => p.title.clone(),
        "given_name" => p.given_name.clone(),
        "family_name" => p.family_name.clone(),
        "preferred_name" => p.preferred_name.clone(),
        "date_of_birth" => p.date_of_birth.map(|d| d.to_string()),
        _ => p.organisation.clone(),
    }
}

fn trust(kind: &str) -> u8 {
    match kind {
        "staff" => 3,
        "import" => 2,
        _ => 1,
    }
}

/// Pick, per field, which person's value survives.
fn survivorship(
    all: &[(Person, Vec<ProvenanceRow>)],
    rule: &str,
    manual: &HashMap<String, i64>,
) -> HashMap<&'static str, usize> {
    let mut chosen = HashMap::new();
    for f in FIELDS {
        if let Some(idx) = manual.get(f).and_then(|id| all.iter().position(|(p, _)| p.id == *id)) {
            chosen.insert(f, idx);
            continue;
        }
        let score = |(p, prov): &(Person, Vec<ProvenanceRow>)| {
            let value = field_value(p, f)?;
            let pr = prov.iter().find(|r| r.field == f);
            let at = pr.map(|r| r.set_at).unwrap_or(p.updated_at);
            let kind = pr.map(|r| r.source_kind.as_str()).unwrap_or("other");
            Some(match rule {
                "most_complete" => (value.chars().count() as i64, 0, at),
                "most_trusted" => (i64::from(trust(kind)), 0, at),
                _ => (0, 0, at),
            })
        };
        let best = all
            .iter()
            .enumerate()
            .filter_map(|(i, x)| score(x).map(|s| (s, i)))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        chosen.insert(f, best.map_or(0, |(_, i)| i));
    }
    chosen
}

fn visible(conn: &mut DbConn, principal: &Principal, public_id: &str, field: &str) -> AppResult<Person> {
    crate::service::people::find_visible(conn, principal, public_id).map_err(|e| match e {
        AppError::NotFound | AppError::Gone(_) => AppError::field(
            field,
            "unknown_person",
            format!("{public_id} is not a person you can merge."),
        ),
        other => other,
    })
}

/// Merge people into a survivor.
pub fn merge_people(
    conn: &mut DbConn,
    ctx: &Ctx,
    survivor_id: &str,
    req: &MergeRequest,
    default_rule: &str,
) -> AppResult<MergeResult> {
    if req.merge.is_empty() || req.merge.len() > 20 {
        return Err(AppError::field(
            "merge",
            "invalid_count",
            "Merge between 1 and 20 people at once.",
        ));
    }
    let rule = req.survivorship.clone().unwrap_or_else(|| default_rule.to_string());
    if !matches!(rule.as_str(), "most_recent" | "most_complete" | "most_trusted") {
        return Err(AppError::field(
            "survivorship",
            "invalid_rule",
            "Use most_recent, most_complete or most_trusted.",
        ));
    }
    if let Some(f) = req.fields.keys().find(|f| !FIELDS.contains(&f.as_str())) {
        return Err(AppError::field(
            &format!("fields.{f}"),
            "unknown_field",
            format!("Choose among: {}.", FIELDS.join(", ")),
        ));
    }
    crate::service::write_tx_retrying(conn, |c| {
        // Everyone named, locked before anything is read (see `dbp::lock`).
        let mut named = Vec::with_capacity(req.merge.len() + 1);
        for id in std::iter::once(survivor_id).chain(req.merge.iter().map(String::as_str)) {
            if is_public_id(id) {
                named.extend(dbp::find_by_public_id(c, id)?.map(|p| p.id));
            }
        }
        // With those merged into them earlier, whom the merge points on: all in one call.
        let earlier: Vec<i64> = people::table
            .filter(people::merged_into.eq_any(named.clone()))
            .select(people::id)
            .load(c)?;
        named.extend(earlier);
        dbp::lock(c, &named, dbp::Lock::Update)?;
        let survivor = crate::service::people::find_visible(c, &ctx.principal, survivor_id)?;
        let mut others = Vec::new();
        for (i, id) in req.merge.iter().enumerate() {
            if id == survivor_id || req.merge[..i].contains(id) {
                return Err(AppError::field(
                    &format!("merge[{i}]"),
                    "duplicate",
                    "A person appears twice in this merge.",
                ));
            }
            others.push(visible(c, &ctx.principal, id, &format!("merge[{i}]"))?);
        }
        let mut all = vec![(survivor.clone(), dbp::provenance_of(c, &[survivor.id])?)];
        for o in &others {
            all.push((o.clone(), dbp::provenance_of(c, &[o.id])?));
        }
        let mut manual = HashMap::new();
        for (f, pid) in &req.fields {
            let Some((p, _)) = all.iter().find(|(p, _)| &p.public_id == pid) else {
                return Err(AppError::field(
                    &format!("fields.{f}"),
                    "not_in_merge",
                    "Choose one of the people being merged.",
                ));
            };
            manual.insert(f.clone(), p.id);
        }
        let mut snapshots: Vec<PersonSnapshot> =
            all.iter().map(|(p, _)| snapshot(c, p.id)).collect::<AppResult<_>>()?;
        let chosen = survivorship(&all, &rule, &manual);
        for o in &others {
            move_rows(c, o.id, survivor.id)?;
        }
        // Scalar values: the chosen person's value and provenance.
        let pick = |f: &str| &all[chosen.get(f).copied().unwrap_or(0)].0;
        let fields = person_fields(
            pick("title").title.clone(),
            pick("given_name").given_name.clone(),
            pick("family_name").family_name.clone(),
            pick("preferred_name").preferred_name.clone(),
            pick("date_of_birth").date_of_birth,
            pick("organisation").organisation.clone(),
        );
        dbp::update_fields(c, survivor.id, survivor.version, &fields, ctx.meta.now)?
            .ok_or_else(|| AppError::conflict("stale_version", "The survivor changed during the merge; try again."))?;
        let mut prov = Vec::new();
        for f in FIELDS {
            let idx = chosen.get(f).copied().unwrap_or(0);
            if idx != 0 {
                if let Some(r) = all[idx].1.iter().find(|r| r.field == f) {
                    prov.push(ProvenanceRow {
                        person_id: survivor.id,
                        ..r.clone()
                    });
                }
            }
        }
        dbp::set_provenance(c, &prov)?;
        for (o, snap) in others.iter().zip(&mut snapshots[1..]) {
            diesel::update(people::table.find(o.id))
                .set((
                    people::status.eq("merged"),
                    people::merged_into.eq(Some(survivor.id)),
                    people::version.eq(o.version + 1),
                    people::updated_at.eq(ctx.meta.now),
                ))
                .execute(c)?;
            // Anyone merged into the merged person now points at the survivor (one level);
            // the snapshot remembers them for an unmerge.
            snap.redirected = people::table
                .filter(people::merged_into.eq(Some(o.id)))
                .select(people::id)
                .order(people::id)
                .load(c)?;
            diesel::update(people::table.filter(people::id.eq_any(&snap.redirected)))
                .set(people::merged_into.eq(Some(survivor.id)))
                .execute(c)?;
            settle_candidate(c, survivor.id, o.id, "accepted", ctx)?;
            snap.superseded = matcher::supersede_pending(c, &[o.id], ctx.meta.now)?;
        }
        let merge_public = new_public_id();
        let merged_ids: Vec<String> = others.iter().map(|o| o.public_id.clone()).collect();
        let snapshot_json = serde_json::to_string(&snapshots).map_err(|e| AppError::Internal(e.to_string()))?;
        diesel::insert_into(merges::table)
            .values((
                merges::public_id.eq(&merge_public),
                merges::survivor_id.eq(survivor.id),
                merges::merged_ids.eq(serde_json::to_string(&merged_ids).unwrap_or_default()),
                merges::snapshot.eq(snapshot_json),
                merges::created_at.eq(ctx.meta.now),
                merges::created_by.eq(Some(ctx.principal.user_id)),
            ))
            .execute(c)?;
        let mut involved = vec![survivor.id];
        involved.extend(others.iter().map(|o| o.id));
        index::refresh(c, &involved)?;
        let detail = serde_json::json!({"merge": merge_public, "merged": merged_ids, "rule": rule});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "person.merge",
                Some(("person", survivor_id)),
                "success",
                Some(detail),
            ),
        )?;
        let current = dbp::find(c, survivor.id)?;
        let person = assemble(c, vec![current])?.pop().ok_or(AppError::NotFound)?;
        Ok(MergeResult {
            merge: merge_public,
            person,
            merged: merged_ids,
        })
    })
}

/// Record a decision on the pair (a, b), creating the candidate row if there was none.
pub fn settle_candidate(conn: &mut DbConn, a: i64, b: i64, status: &str, ctx: &Ctx) -> AppResult<()> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let n = diesel::update(
        match_candidates::table
            .filter(match_candidates::person_a.eq(lo))
            .filter(match_candidates::person_b.eq(hi)),
    )
    .set((
        match_candidates::status.eq(status),
        match_candidates::decided_at.eq(Some(ctx.meta.now)),
        match_candidates::decided_by.eq(Some(ctx.principal.user_id)),
    ))
    .execute(conn)?;
    if n == 0 {
        diesel::insert_into(match_candidates::table)
            .values((
                match_candidates::public_id.eq(new_public_id()),
                match_candidates::person_a.eq(lo),
                match_candidates::person_b.eq(hi),
                match_candidates::probability.eq(0.0),
                match_candidates::match_weight.eq(0.0),
                match_candidates::explanation.eq("[]"),
                match_candidates::status.eq(status),
                match_candidates::origin.eq("manual"),
                match_candidates::created_at.eq(ctx.meta.now),
                match_candidates::decided_at.eq(Some(ctx.meta.now)),
                match_candidates::decided_by.eq(Some(ctx.principal.user_id)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One merge into a person, as the merge history shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MergeEntry {
    /// Id of the merge (give it to unmerge).
    pub id: String,
    /// The people merged into this one (public ids).
    pub merged: Vec<String>,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was undone, if it was.
    pub undone_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The merges into a person, newest first (undone ones included).
pub fn merges_of(conn: &mut DbConn, ctx: &Ctx, survivor_id: &str) -> AppResult<Vec<MergeEntry>> {
    let survivor = crate::service::people::find_visible(conn, &ctx.principal, survivor_id)?;
    let rows: Vec<(String, String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = merges::table
        .filter(merges::survivor_id.eq(survivor.id))
        .select((
            merges::public_id,
            merges::merged_ids,
            merges::created_at,
            merges::undone_at,
        ))
        .order(merges::id.desc())
        .limit(500)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, merged, created, undone)| MergeEntry {
            id,
            merged: serde_json::from_str(&merged).unwrap_or_default(),
            created_at: created.and_utc(),
            undone_at: undone.map(|t| t.and_utc()),
        })
        .collect())
}

/// Undo a merge exactly (later changes stay where they were made).
pub fn unmerge(conn: &mut DbConn, ctx: &Ctx, survivor_id: &str, req: &UnmergeRequest) -> AppResult<UnmergeResult> {
    crate::service::write_tx_retrying(conn, |c| {
        let survivor = crate::service::people::find_visible(c, &ctx.principal, survivor_id)?;
        let mut q = merges::table
            .filter(merges::survivor_id.eq(survivor.id))
            .filter(merges::undone_at.is_null())
            .into_boxed::<dbp::Db>();
        if let Some(m) = &req.merge {
            if !is_public_id(m) {
                return Err(AppError::field(
                    "merge",
                    "unknown_merge",
                    "There is no such merge of this person.",
                ));
            }
            q = q.filter(merges::public_id.eq(m.clone()));
        }
        let row: Option<(i64, String, String, chrono::NaiveDateTime)> = q
            .select((merges::id, merges::public_id, merges::snapshot, merges::created_at))
            .order(merges::id.desc())
            .first(c)
            .optional()?;
        let Some((merge_id, merge_public, snapshot_json, merged_at)) = row else {
            return Err(AppError::field(
                "merge",
                "unknown_merge",
                "There is no merge of this person to undo.",
            ));
        };
        let snaps: Vec<PersonSnapshot> =
            serde_json::from_str(&snapshot_json).map_err(|e| AppError::Internal(format!("merge snapshot: {e}")))?;
        let Some((own, merged)) = snaps.split_first() else {
            return Err(AppError::Internal("empty merge snapshot".into()));
        };
        let mut involved: Vec<i64> = snaps.iter().map(|s| s.person.id).collect();
        involved.extend(merged.iter().flat_map(|m| m.redirected.iter().copied()));
        dbp::lock(c, &involved, dbp::Lock::Update)?;
        // Read again now that nobody else can change it: another unmerge of this merge may
        // have ended while this one waited.
        let undone: Option<chrono::NaiveDateTime> = merges::table.find(merge_id).select(merges::undone_at).first(c)?;
        if undone.is_some() {
            return Err(AppError::conflict("cannot_unmerge", "This merge has just been undone."));
        }
        // And the survivor may have been merged on or erased meanwhile.
        crate::service::people::find_visible(c, &ctx.principal, survivor_id)?;
        for m in merged {
            let current = dbp::find(c, m.person.id)?;
            if current.status != "merged" || current.merged_into != Some(survivor.id) {
                return Err(AppError::conflict(
                    "cannot_unmerge",
                    "A person of this merge has changed since (merged elsewhere or erased).",
                ));
            }
        }
        for m in merged {
            restore_merged(c, m)?;
            settle_candidate(c, survivor.id, m.person.id, "rejected", ctx)?;
            // Those the merge pointed on at the survivor point at this person again (unless
            // something else has moved them since).
            diesel::update(
                people::table
                    .filter(people::id.eq_any(&m.redirected))
                    .filter(people::status.eq("merged"))
                    .filter(people::merged_into.eq(Some(survivor.id))),
            )
            .set(people::merged_into.eq(Some(m.person.id)))
            .execute(c)?;
        }
        restore_survivor(c, own, merged, merged_at)?;
        for m in merged {
            matcher::reopen_superseded(c, &m.superseded)?;
        }
        // The snapshot has done its work: an undone merge keeps its history (who, when, whom)
        // but no longer a copy of the people's details, which would otherwise outlive the
        // erasure of a person who is no longer linked to this survivor.
        diesel::update(merges::table.find(merge_id))
            .set((
                merges::undone_at.eq(Some(ctx.meta.now)),
                merges::undone_by.eq(Some(ctx.principal.user_id)),
                merges::snapshot.eq("[]"),
            ))
            .execute(c)?;
        let mut ids = vec![survivor.id];
        ids.extend(merged.iter().map(|m| m.person.id));
        index::refresh(c, &ids)?;
        let detail = serde_json::json!({"merge": merge_public});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "person.unmerge",
                Some(("person", survivor_id)),
                "success",
                Some(detail),
            ),
        )?;
        let rows = ids.iter().map(|id| dbp::find(c, *id)).collect::<Result<Vec<_>, _>>()?;
        Ok(UnmergeResult {
            merge: merge_public,
            people: assemble(c, rows)?,
        })
    })
}
