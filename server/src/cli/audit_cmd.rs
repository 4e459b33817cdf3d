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
    /// Walk the whole hash chain; exit 3 and name the first broken event if it does not hold.
    Verify,
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
        AuditCommand::Verify => {
            let report = verify::verify(&store).await?;
            match report.status {
                ChainStatus::Intact { .. } => {
                    println!(
                        "{} ({} events checked in {} ms)",
                        report.headline(),
                        report.events_checked,
                        report.duration_ms
                    );
                    Ok(())
                }
                ChainStatus::Broken { .. } => Err(CliError::ChainBroken(report.headline())),
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
