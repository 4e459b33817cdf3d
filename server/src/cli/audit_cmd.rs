//! `rollout-console audit …`: verify the chain; export a filtered set.
use std::io::Write;

use app::dto::audit::{AuditQuery, ChainStatus};
use clap::{Args, Subcommand};
use futures_util::StreamExt;

use super::CliError;
use crate::audit::export::{export_stream, Format};
use crate::audit::query::AuditFilter;
use crate::audit::verify;
use crate::db::Store;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole hash chain and check every passkey-signed decision;
    /// exit 3 and name the first broken event, or each decision whose
    /// signature does not prove what it says.
    Verify {
        /// Check an export (`audit export --format jsonl` of the whole
        /// trail) instead of the store: no database needed.
        #[arg(long, value_name = "FILE", conflicts_with = "reanchor")]
        export: Option<std::path::PathBuf>,
        /// Accept the chain as it stands when its anchor outside the store is
        /// missing, unreadable or contradicted (a restored backup, a moved
        /// store): the chain must hold in itself; records who did it and why
        /// (`--reason`), then anchors the head anew.
        #[arg(long, requires = "reason")]
        reanchor: bool,
        /// Why the chain is accepted without its old anchor (with --reanchor).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Write the (filtered) trail to stdout as CSV or JSON lines, oldest first.
    Export {
        #[arg(long, default_value = "csv", value_parser = Format::parse)]
        format: Format,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Exact actor name.
    #[arg(long)]
    actor: Option<String>,
    /// Exact action, or a prefix ending in * (e.g. 'auth.*').
    #[arg(long)]
    action: Option<String>,
    /// Exact subject, or a prefix ending in *.
    #[arg(long)]
    subject: Option<String>,
    /// From (inclusive): YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or unix ms.
    #[arg(long)]
    from: Option<String>,
    /// Until (exclusive), same forms.
    #[arg(long)]
    to: Option<String>,
}

pub async fn run(store: Store, cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Verify {
            reanchor: true,
            reason,
            ..
        } => accept_chain(&store, reason.unwrap_or_default()).await,
        AuditCommand::Verify { .. } => {
            let report = verify::verify(&store).await?;
            // Signatures are checked whatever the chain says: an edited
            // decision is named even where the chain already broke.
            let events = signing_events(&store).await?;
            let intact = matches!(report.status, ChainStatus::Intact { .. });
            if intact {
                println!(
                    "{} ({} events checked in {} ms)",
                    report.headline(),
                    report.events_checked,
                    report.duration_ms
                );
            }
            let signed = signed_decisions(crate::audit::signed::check(&events));
            if intact {
                signed
            } else {
                Err(CliError::ChainBroken(report.headline()))
            }
        }
        AuditCommand::Export { format, filter } => {
            let query = AuditQuery {
                actor: filter.actor,
                action: filter.action,
                subject: filter.subject,
                from: filter.from,
                to: filter.to,
                before: None,
            };
            let filter = AuditFilter::parse(&query).map_err(CliError::Invalid)?;
            let mut out = std::io::stdout().lock();
            let mut chunks = std::pin::pin!(export_stream(store, filter, format));
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| CliError::Runtime(e.to_string()))?;
                out.write_all(&chunk)
                    .map_err(|e| CliError::Runtime(format!("writing the export failed: {e}")))?;
            }
            Ok(())
        }
    }
}

/// `audit verify --export FILE`: the export alone.
pub fn verify_export(path: &std::path::Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::Invalid(format!("--export {}: cannot read it ({e})", path.display()))
    })?;
    let events = verify::offline::read(&text)
        .map_err(|e| CliError::Invalid(format!("--export {}: {e}", path.display())))?;
    let report = verify::offline::verify(&events);
    if report.broken.is_none() {
        println!(
            "chain holds: {} events checked (from the export)",
            report.events
        );
    }
    let signed = signed_decisions((report.signed_checked, report.signed_bad));
    match &report.broken {
        None => signed,
        Some(b) => Err(CliError::ChainBroken(format!(
            "chain BROKEN in the export at {b}"
        ))),
    }
}

/// The events a signed decision's check needs: key registrations and
/// decisions, oldest first.
async fn signing_events(store: &Store) -> Result<Vec<app::dto::audit::AuditEvent>, CliError> {
    let mut events = Vec::new();
    for action in ["passkey.register", "gate.*"] {
        let query = AuditQuery {
            action: Some(action.into()),
            ..AuditQuery::default()
        };
        let filter = AuditFilter::parse(&query).map_err(CliError::Invalid)?;
        let mut after = 0;
        loop {
            let page = crate::audit::query::oldest_first(store, &filter, after, 5_000)
                .await
                .map_err(|e| CliError::Runtime(e.to_string()))?;
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            after = last;
            events.extend(page);
        }
    }
    events.sort_by_key(|e| e.seq);
    Ok(events)
}

fn signed_decisions(
    (checked, bad): (usize, Vec<crate::audit::signed::Bad>),
) -> Result<(), CliError> {
    if bad.is_empty() {
        println!("signed decisions hold: {checked} checked");
        return Ok(());
    }
    for b in &bad {
        eprintln!("{b}");
    }
    Err(CliError::ChainBroken(format!(
        "{} of {checked} signed decisions do not prove what the trail says (listed above)",
        bad.len()
    )))
}

/// `audit verify --reanchor --reason …`: when the chain holds in itself but
/// not against its anchor, records `audit.reanchor` (the command line's OS
/// user, the reason, what was wrong) and anchors the head anew.
async fn accept_chain(store: &Store, reason: String) -> Result<(), CliError> {
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(CliError::Invalid(
            "--reason: say why the chain is accepted without its anchor (e.g. \"restored from the 2026-12-01 backup\")".into(),
        ));
    }
    let anchored = verify::verify(store).await?;
    if let ChainStatus::Intact { .. } = anchored.status {
        println!(
            "{}; its anchor holds: nothing to accept",
            anchored.headline()
        );
        return Ok(());
    }
    let own = verify::verify_unanchored(store).await?;
    if let ChainStatus::Broken { .. } = own.status {
        return Err(CliError::ChainBroken(format!(
            "{}; a new anchor would accept a rewritten chain, so none was written (restore the store from a backup)",
            own.headline()
        )));
    }
    let mut tx = store.begin_write().await?;
    let details = serde_json::json!({ "reason": reason, "was": anchored.headline() });
    crate::audit::append(
        &mut tx,
        crate::system::now_ms(),
        &crate::audit::Actor::cli(),
        &crate::audit::ClientInfo::default(),
        "audit.reanchor",
        "audit:anchor",
        details,
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| CliError::Runtime(format!("recording audit.reanchor failed: {e}")))?;
    let path = crate::audit::anchor::reanchor(store)
        .await
        .map_err(CliError::Runtime)?;
    println!(
        "was: {}\naccepted (audit.reanchor recorded); the head is anchored anew in {}",
        anchored.headline(),
        path.display()
    );
    Ok(())
}
