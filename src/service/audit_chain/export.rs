//! Exports of the sealed audit log (JSON lines: each seal, then the events it covers) for a
//! store the service cannot change, and their verification without the database.

use serde::{Deserialize, Serialize};

use super::{mismatch, problem, BlockHasher, Problem, SealView, Verification, GENESIS};
use crate::db::audit::AuditEvent;
use crate::db::audit_seals;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// One line of an export (JSON lines): a seal, then the events it covers, in order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportLine {
    /// A seal.
    Seal(SealView),
    /// An event of the seal before it.
    Event(AuditEvent),
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// Seals written.
    pub seals: i64,
    /// Events written.
    pub events: i64,
    /// The last seal written (pass its `seq` as the next export's `after_seq`).
    pub last: Option<SealView>,
}

fn write_line(out: &mut dyn std::io::Write, line: &ExportLine) -> AppResult<()> {
    let text = serde_json::to_string(line).map_err(|e| AppError::Internal(e.to_string()))?;
    writeln!(out, "{text}").map_err(|e| AppError::Internal(format!("cannot write the export: {e}")))
}

/// Write the seals after `after_seq`, each followed by the events it covers, as JSON lines: a
/// copy of the sealed log for a store the service cannot change, which [`check_export`] verifies
/// without the database. Events not sealed yet wait for the next export.
pub fn export(conn: &mut DbConn, after_seq: i64, out: &mut dyn std::io::Write) -> AppResult<ExportReport> {
    let mut report = ExportReport {
        seals: 0,
        events: 0,
        last: None,
    };
    let mut cursor = after_seq;
    loop {
        let page = audit_seals::after(conn, cursor, 100)?;
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        for seal in &page {
            write_line(out, &ExportLine::Seal(SealView::from(seal)))?;
            audit_seals::each_event(conn, seal.after_event_id, seal.last_event_id, |e| {
                report.events += 1;
                write_line(out, &ExportLine::Event(e.clone()))
            })?;
            report.seals += 1;
            report.last = Some(SealView::from(seal));
        }
    }
    out.flush()
        .map_err(|e| AppError::Internal(format!("cannot write the export: {e}")))?;
    Ok(report)
}

/// Verify an export on its own: each seal's events hash to its hash, and each seal follows on
/// from the one before it (the first is taken as it is, unless it is seal 1, which must start
/// the chain). With `expect` (a seal known from elsewhere, e.g. the log store's `audit sealed`
/// line), the export must hold that seal with that hash: an export cut short or rewritten with
/// fresh hashes does not. `Err` when a line cannot be read.
pub fn check_export(input: impl std::io::BufRead, expect: Option<&(i64, String)>) -> Result<Verification, String> {
    let mut problems = Vec::new();
    let mut expected_found: Option<String> = None;
    let mut open: Option<(SealView, BlockHasher)> = None;
    let mut first: Option<i64> = None;
    let mut head: Option<SealView> = None;
    let (mut seals_checked, mut events_checked) = (0i64, 0i64);
    let mut close = |open: &mut Option<(SealView, BlockHasher)>, problems: &mut Vec<Problem>| {
        if let Some((seal, hasher)) = open.take() {
            let (hash, count) = hasher.finish();
            if hash != seal.hash {
                problems.push(problem(
                    Some(seal.seq),
                    mismatch(count, seal.event_count),
                    format!("Seal {} does not verify against the events that follow it.", seal.seq),
                ));
            }
            seals_checked += 1;
            events_checked += count;
        }
    };
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ExportLine = serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", n + 1))?;
        match parsed {
            ExportLine::Seal(seal) => {
                close(&mut open, &mut problems);
                if let Some(prev) = &head {
                    if seal.seq != prev.seq + 1
                        || seal.after_event_id != prev.last_event_id
                        || seal.prev_hash != prev.hash
                    {
                        problems.push(problem(
                            Some(seal.seq),
                            "chain_broken",
                            format!("Seal {} does not follow on from seal {} before it.", seal.seq, prev.seq),
                        ));
                    }
                } else if seal.seq == 1 && (seal.prev_hash != GENESIS || seal.after_event_id != 0) {
                    problems.push(problem(
                        Some(1),
                        "chain_broken",
                        "Seal 1 does not start the chain.".into(),
                    ));
                }
                first.get_or_insert(seal.seq);
                if expect.is_some_and(|(seq, _)| *seq == seal.seq) {
                    expected_found = Some(seal.hash.clone());
                }
                let hasher = BlockHasher::new(&seal.prev_hash, seal.seq, seal.after_event_id, seal.last_event_id);
                head = Some(seal.clone());
                open = Some((seal, hasher));
            }
            ExportLine::Event(event) => match &mut open {
                Some((seal, hasher)) if event.id > seal.after_event_id && event.id <= seal.last_event_id => {
                    hasher.event(&event)
                }
                _ => problems.push(problem(
                    head.as_ref().map(|s| s.seq),
                    "stray_event",
                    format!(
                        "Line {}: event {} is not covered by the seal before it.",
                        n + 1,
                        event.id
                    ),
                )),
            },
        }
    }
    close(&mut open, &mut problems);
    if let Some((seq, hash)) = expect {
        problems.extend(super::against_expected(*seq, hash, expected_found.as_deref()));
    }
    Ok(Verification {
        ok: problems.is_empty(),
        seals_checked,
        events_checked,
        from_seq: first.unwrap_or(1),
        next_from_seq: None,
        head,
        unsealed_events: 0,
        oldest_unsealed_at: None,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use proptest::prelude::*;

    fn event(id: i64, text: &str, detail: Option<String>) -> AuditEvent {
        AuditEvent {
            id,
            occurred_at: NaiveDateTime::parse_from_str("2026-12-07T10:00:00.123456", crate::db::audit::EXACT_TIME)
                .unwrap(),
            actor_user_id: Some(id % 3),
            actor: format!("user:{text}"),
            action: "person.read".into(),
            target_kind: Some("person".into()),
            target_id: Some(text.into()),
            outcome: "success".into(),
            client_addr: None,
            request_id: Some(String::new()),
            detail,
            targets: None,
        }
    }

    /// An export of `events` split into seals of `per` events.
    fn export_of(events: &[AuditEvent], per: usize) -> String {
        let mut out = String::new();
        let (mut prev, mut after) = (GENESIS.to_string(), 0);
        for (i, block) in events.chunks(per.max(1)).enumerate() {
            let seq = i as i64 + 1;
            let last = block.last().map_or(after, |e| e.id);
            let mut h = BlockHasher::new(&prev, seq, after, last);
            block.iter().for_each(|e| h.event(e));
            let (hash, count) = h.finish();
            let seal = SealView {
                seq,
                after_event_id: after,
                last_event_id: last,
                event_count: count,
                prev_hash: prev.clone(),
                hash: hash.clone(),
                sealed_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            };
            out += &serde_json::to_string(&ExportLine::Seal(seal)).unwrap();
            out.push('\n');
            for e in block {
                out += &serde_json::to_string(&ExportLine::Event(e.clone())).unwrap();
                out.push('\n');
            }
            (prev, after) = (hash, last);
        }
        out
    }

    /// The (seq, hash) of the last seal line of an export.
    fn head_of(export: &str) -> (i64, String) {
        export
            .lines()
            .rev()
            .find_map(|l| match serde_json::from_str::<ExportLine>(l).ok()? {
                ExportLine::Seal(s) => Some((s.seq, s.hash)),
                ExportLine::Event(_) => None,
            })
            .unwrap()
    }

    fn codes(v: &Verification) -> Vec<&str> {
        v.problems.iter().map(|p| p.code.as_str()).collect()
    }

    #[test]
    fn against_a_head_known_from_elsewhere_a_cut_or_rewritten_export_does_not_verify() {
        let events: Vec<AuditEvent> = (1..=9).map(|i| event(i, "x", None)).collect();
        let full = export_of(&events, 3);
        let head = head_of(&full);
        assert!(check_export(full.as_bytes(), Some(&head)).unwrap().ok);

        // The last seal and its events cut off: it verifies on its own, not against the head.
        let cut = export_of(&events[..6], 3);
        assert!(check_export(cut.as_bytes(), None).unwrap().ok);
        let v = check_export(cut.as_bytes(), Some(&head)).unwrap();
        assert_eq!(codes(&v), ["expected_seal_missing"]);

        // An event changed and every seal hashed again: consistent, but not the known head.
        let mut changed = events.clone();
        changed[1].action = "person.erase".into();
        let rewritten = export_of(&changed, 3);
        assert!(check_export(rewritten.as_bytes(), None).unwrap().ok);
        let v = check_export(rewritten.as_bytes(), Some(&head)).unwrap();
        assert_eq!(codes(&v), ["expected_hash_differs"]);
    }

    #[test]
    fn a_first_seal_that_does_not_start_at_the_first_event_breaks_the_chain() {
        let events: Vec<AuditEvent> = (1..=4).map(|i| event(i, "x", None)).collect();
        // Seal 1 claiming to start after event 2: events 1 and 2 were dropped with it.
        let text = export_of(&events, 4).replacen("\"after_event_id\":0", "\"after_event_id\":2", 1);
        let v = check_export(text.as_bytes(), None).unwrap();
        assert!(codes(&v).contains(&"chain_broken"), "{:?}", v.problems);
    }

    proptest! {
        #[test]
        fn any_input_is_an_answer_not_a_panic(text in "\\PC{0,400}") {
            let _ = check_export(text.as_bytes(), None);
        }

        #[test]
        fn an_export_verifies_and_any_changed_field_does_not(
            texts in prop::collection::vec("\\PC{0,12}", 1..30),
            per in 1usize..8,
            pick in any::<prop::sample::Index>(),
        ) {
            let events: Vec<AuditEvent> = texts.iter().enumerate().map(|(i, t)| event(i as i64 + 1, t, None)).collect();
            let good = check_export(export_of(&events, per).as_bytes(), None).unwrap();
            prop_assert!(good.ok, "{:?}", good.problems);
            prop_assert_eq!(good.events_checked, events.len() as i64);
            // An absent detail becomes an empty one: a different event.
            let mut changed = events.clone();
            let i = pick.index(changed.len());
            changed[i].detail = Some(String::new());
            let tampered = export_of(&events, per).lines().map(|l| {
                match serde_json::from_str::<ExportLine>(l).unwrap() {
                    ExportLine::Event(e) if e.id == changed[i].id => serde_json::to_string(&ExportLine::Event(changed[i].clone())).unwrap(),
                    _ => l.to_string(),
                }
            }).collect::<Vec<_>>().join("\n");
            let bad = check_export(tampered.as_bytes(), None).unwrap();
            prop_assert!(!bad.ok);
            prop_assert_eq!(bad.problems[0].code.as_str(), "events_changed");
        }
    }
}
