//! `lighthouse audit …`: the audit log's hash chain from the command line (see
//! `lighthouse::service::audit_chain`).

use std::path::PathBuf;

use clap::Subcommand;
use lighthouse::config::Settings;

use crate::cli_jobs::describe;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Seal the audit events not yet in the hash chain (on PostgreSQL, those older than
    /// `audit.seal_grace_seconds`) and print the seals made, as JSON.
    Seal,
    /// Recompute the chain from the events as they are now and print what was found, as JSON;
    /// exits with status 1 if anything is wrong.
    Verify {
        /// Start at this seal, taking the hash of the one before as given.
        #[arg(long)]
        from_seq: Option<i64>,
        /// A seal known from elsewhere, as SEQ:HASH (e.g. from the log store's `audit sealed`
        /// line): the chain must hold it.
        #[arg(long)]
        expect: Option<String>,
    },
    /// Write the seals after --after-seq, each followed by the events it covers, as JSON lines
    /// (a copy for a store the service cannot change; run it on a schedule, passing the last
    /// seal written). Prints what it wrote, as JSON, on standard error.
    Export {
        /// Start after this seal (0: from the first).
        #[arg(long, default_value_t = 0)]
        after_seq: i64,
        /// The file to write (`-`: standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify an export on its own, without the database: every seal's events hash to its hash
    /// and every seal follows on from the one before. Exits with status 1 if anything is wrong.
    CheckExport {
        /// The export file.
        file: PathBuf,
        /// A seal known from elsewhere, as SEQ:HASH: the export must hold it (so a copy cut
        /// short, or rewritten with fresh hashes, does not verify).
        #[arg(long)]
        expect: Option<String>,
    },
}

/// Run an audit command.
pub fn run(settings: &Settings, pool: &lighthouse::db::DbPool, cmd: AuditCommand) -> Result<(), String> {
    use lighthouse::service::audit_chain;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    match cmd {
        AuditCommand::Seal => {
            let report = audit_chain::seal(
                &mut conn,
                lighthouse::db::now(),
                settings.audit.seal_grace(),
                usize::MAX,
            )
            .map_err(describe)?;
            println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        AuditCommand::Verify { from_seq, expect } => {
            let expect = seal_ref(expect.as_deref())?;
            let req = audit_chain::VerifyRequest {
                from_seq,
                expect,
                max_seals: None,
            };
            let result = audit_chain::verify(&mut conn, &req).map_err(describe)?;
            verdict(&result)
        }
        AuditCommand::Export { after_seq, out } => {
            let report = if out.as_os_str() == "-" {
                audit_chain::export(&mut conn, after_seq, &mut std::io::stdout().lock())
            } else {
                let file = std::fs::File::create(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
                audit_chain::export(&mut conn, after_seq, &mut std::io::BufWriter::new(file))
            }
            .map_err(describe)?;
            eprintln!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        AuditCommand::CheckExport { file, expect } => check_export(&file, expect.as_deref()),
    }
}

/// `--expect SEQ:HASH`, checked.
fn seal_ref(text: Option<&str>) -> Result<Option<(i64, String)>, String> {
    let Some(text) = text else { return Ok(None) };
    text.split_once(':')
        .and_then(|(s, h)| Some((s.trim().parse::<i64>().ok()?, h.trim().to_string())))
        .filter(|(s, h)| lighthouse::service::audit_chain::is_seal_ref(*s, h))
        .map(Some)
        .ok_or_else(|| "--expect takes SEQ:HASH, a seal's position and its 64-character hash".to_string())
}

pub fn check_export(file: &std::path::Path, expect: Option<&str>) -> Result<(), String> {
    let expect = seal_ref(expect)?;
    let input = std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    verdict(&lighthouse::service::audit_chain::check_export(
        std::io::BufReader::new(input),
        expect.as_ref(),
    )?)
}

/// Print a verification and fail when it found anything wrong.
fn verdict(result: &lighthouse::service::audit_chain::Verification) -> Result<(), String> {
    println!("{}", serde_json::to_string_pretty(result).map_err(|e| e.to_string())?);
    if result.ok {
        Ok(())
    } else {
        Err(format!(
            "the audit log does not verify: {} problem(s)",
            result.problems.len()
        ))
    }
}
