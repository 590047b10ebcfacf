//! The long-running commands of `lighthouse`: `import` (upload, dry run and commit, with a
//! progress line), `dedupe` and `retention`, run in-process on the pool the command opened.

use lighthouse::config::Settings;
use lighthouse::service::RequestMeta;

pub(crate) fn retention(settings: &Settings, pool: &lighthouse::db::DbPool, dry_run: bool) -> Result<(), String> {
    use lighthouse::service::privacy::{keys::PointHasher, retention};
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let points = PointHasher::load(&mut conn, &settings.privacy.hash_key).map_err(|e| e.to_string())?;
    let verb = if dry_run { "would erase" } else { "erased" };
    let report = retention::run(
        &mut conn,
        &points,
        &settings.retention,
        lighthouse::db::now(),
        dry_run,
        |n| {
            eprint!("\rretention: {verb} {n} people so far");
        },
    )
    .map_err(describe)?;
    eprintln!();
    match report.cutoff {
        None => println!("retention: the inactive-person rule is off (retention.inactive_person_years = 0)"),
        Some(cutoff) => println!(
            "retention: {verb} {} people with no live consent and no change since {}",
            report.people,
            cutoff.format("%Y-%m-%d")
        ),
    }
    // Each further rule: (its cut-off, what a dry run and a run say, what it did).
    let rules = [
        (
            report.imports_cutoff,
            ["would delete", "deleted"],
            format!("the files of {} imports not committed since", report.imports_discarded),
        ),
        (
            report.rights_requests_cutoff,
            ["would anonymise", "anonymised"],
            format!(
                "{} data-protection requests closed before",
                report.rights_requests_anonymised
            ),
        ),
        (
            report.sessions_cutoff,
            ["would delete", "deleted"],
            format!(
                "{} sessions and API tokens that expired or were ended before",
                report.sessions_deleted
            ),
        ),
        (
            report.reports_cutoff,
            ["would clear", "cleared"],
            format!("the row reports of {} imports finished before", report.reports_cleared),
        ),
    ];
    for (cutoff, verbs, what) in rules {
        if let Some(cutoff) = cutoff {
            let verb = verbs[usize::from(!dry_run)];
            println!("retention: {verb} {what} {}", cutoff.format("%Y-%m-%d"));
        }
    }
    Ok(())
}

pub(crate) fn import(
    settings: &Settings,
    pool: &lighthouse::db::DbPool,
    q: lighthouse::service::imports::UploadQuery,
    file: &std::path::Path,
    commit: bool,
) -> Result<(), String> {
    use lighthouse::service::imports::{self, runner::Worker, DryRunRequest};
    use lighthouse::service::privacy::keys::PointHasher;
    use lighthouse::service::{Ctx, Principal};
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let points = PointHasher::load(&mut conn, &settings.privacy.hash_key).map_err(|e| e.to_string())?;
    let ctx = Ctx {
        principal: Principal::system("cli-import"),
        meta: RequestMeta::system(lighthouse::db::now()),
        points: points.clone(),
        matching: settings.matching.clone(),
    };
    let bytes = std::fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    if bytes > settings.imports.max_upload_bytes {
        return Err(format!(
            "{} is larger than imports.max_upload_bytes ({} bytes)",
            file.display(),
            settings.imports.max_upload_bytes
        ));
    }
    let hash = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        std::io::copy(&mut f, &mut h).map_err(|e| e.to_string())?;
        hex::encode(h.finalize())
    };
    let view = imports::create(&mut conn, &ctx, &q, file, bytes, &hash).map_err(describe)?;
    eprintln!(
        "import {}: {} rows, columns: {}",
        view.id,
        view.rows_total,
        view.headers.join(", ")
    );
    for m in &view.mapping {
        eprintln!("  {:>3} {:<30} -> {}", m.column + 1, m.header, m.target);
    }
    let worker = Worker {
        pool: pool.clone(),
        matching: settings.matching.clone(),
        points,
    };
    let b = imports::start_dry_run(&mut conn, &ctx, &view.id, &DryRunRequest::default()).map_err(describe)?;
    run_with_progress(&worker, &mut conn, b.id, "dry run")?;
    let v = report(&mut conn, b.id)?;
    if v.status != "analysed" {
        return Err(format!("the dry run failed: {}", v.error.unwrap_or_default()));
    }
    if !commit {
        println!("dry run only: nothing changed (run again with --commit to apply)");
        return Ok(());
    }
    let b =
        imports::start_phase(&mut conn, &ctx, &view.id, "analysed", "committing", "import.commit").map_err(describe)?;
    run_with_progress(&worker, &mut conn, b.id, "commit")?;
    let v = report(&mut conn, b.id)?;
    if v.status != "committed" {
        return Err(format!("the commit failed: {}", v.error.unwrap_or_default()));
    }
    Ok(())
}

fn run_with_progress(
    worker: &lighthouse::service::imports::runner::Worker,
    conn: &mut lighthouse::db::DbConn,
    batch_id: i64,
    phase: &str,
) -> Result<(), String> {
    // The progress bar is redrawn every half second; the phase ends as soon as the worker does
    // (a small file takes a fraction of a second, not a polling interval).
    let (finished_tx, finished) = std::sync::mpsc::channel::<()>();
    let w = worker.clone();
    let handle = std::thread::spawn(move || {
        w.run(batch_id);
        let _ = finished_tx.send(());
    });
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        finished.recv_timeout(std::time::Duration::from_millis(500))
    {
        if let Ok(b) = lighthouse::service::imports::load(conn, batch_id) {
            let pct = if b.rows_total > 0 {
                b.rows_done * 100 / b.rows_total
            } else {
                100
            };
            let width = 30usize;
            let filled = usize::try_from(pct).unwrap_or(0) * width / 100;
            eprint!(
                "\r{phase}: [{}{}] {pct:>3}% {} / {} rows",
                "#".repeat(filled),
                " ".repeat(width - filled.min(width)),
                b.rows_done,
                b.rows_total
            );
        }
    }
    let _ = handle.join();
    eprintln!();
    Ok(())
}

fn report(
    conn: &mut lighthouse::db::DbConn,
    batch_id: i64,
) -> Result<lighthouse::service::imports::ImportView, String> {
    let b = lighthouse::service::imports::load(conn, batch_id).map_err(describe)?;
    let v = lighthouse::service::imports::view(conn, &b, lighthouse::db::now()).map_err(describe)?;
    let counts: Vec<String> = v
        .counts
        .iter()
        .filter(|(k, _)| *k != "month_first")
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "import {}: {} ({}), {:.0} rows/s",
        v.id,
        v.status,
        counts.join(", "),
        v.rate.unwrap_or(0.0)
    );
    Ok(v)
}

pub(crate) fn dedupe(
    settings: &Settings,
    pool: &lighthouse::db::DbPool,
    train: bool,
    dry_run: bool,
    block_cap: u64,
) -> Result<(), String> {
    use lighthouse::service::identity::dedupe;
    use lighthouse::service::privacy::keys::PointHasher;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let points = PointHasher::load(&mut conn, &settings.privacy.hash_key).map_err(|e| e.to_string())?;
    let opts = dedupe::Options {
        train,
        dry_run,
        block_cap: usize::try_from(block_cap).unwrap_or(64),
    };
    let started = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    let report = dedupe::run(&mut conn, &points, &settings.matching, &opts, |phase, done, total| {
        if last.elapsed().as_millis() >= 500 || done == total {
            last = std::time::Instant::now();
            eprint!("\rdedupe: {phase} {done} / {total}        ");
        }
    })
    .map_err(describe)?;
    eprintln!();
    let verb = if dry_run { "would link" } else { "linked" };
    println!(
        "dedupe: {} people, {} candidate pairs, {verb} {} pairs ({} people merged), {} proposed for review, \
         {} new people indexed, {} oversized blocks skipped{} in {:.1} s",
        report.people,
        report.pairs,
        report.links,
        report.merged,
        report.proposals,
        report.indexed,
        report.oversized_blocks,
        if report.trained { ", model re-trained" } else { "" },
        started.elapsed().as_secs_f64()
    );
    let phases: Vec<String> = report.seconds.iter().map(|(p, s)| format!("{p} {s:.1} s")).collect();
    println!("dedupe: phases: {}", phases.join(", "));
    Ok(())
}

pub(crate) fn describe(e: lighthouse::error::AppError) -> String {
    match e {
        lighthouse::error::AppError::Validation(errors) => errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
