//! `rollout-console plan …`: plans as code — validate, import, export, list.
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::CliError;
use crate::config::Config;
use crate::db::Store;
use crate::events::PlanEvents;
use crate::flags::cache::FlagCache;
use crate::plans::acting::Acting;
use crate::plans::{file::spec, PlanService};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Check a plan file; print every problem as FILE:LINE:COLUMN: FIELD: what
    /// is wrong. Stores nothing. Exit 2 when the file has problems.
    Validate { file: PathBuf },
    /// Store a plan file as a new draft plan (validated first; nothing is
    /// stored when it has problems).
    Import { file: PathBuf },
    /// Write a plan's file exactly as imported or last saved, or — with
    /// --sha256 — any earlier version, as its audit events name it.
    Export {
        /// The plan's id or name.
        plan: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The version's SHA-256 (from plan.import, plan.edit or
        /// plan.change_request events), or 12 or more of its first hex digits.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// List plans with their status.
    List,
}

fn read(file: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(file)
        .map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", file.display())))
}

/// Validates, printing each problem prefixed with the file name.
fn check(file: &Path, text: &str) -> Result<spec::PlanFile, CliError> {
    spec::validate(text).map_err(|problems| {
        for p in &problems {
            eprintln!("{}:{p}", file.display());
        }
        CliError::Invalid(format!(
            "{}: {} problem{} found; nothing was stored",
            file.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ))
    })
}

pub fn validate(file: PathBuf) -> Result<(), CliError> {
    let text = read(&file)?;
    let plan = check(&file, &text)?;
    println!(
        "{}: plan {:?} is valid ({} phases, flag {})",
        file.display(),
        plan.plan.name.get_ref(),
        plan.phases.len(),
        plan.plan.flag.get_ref()
    );
    Ok(())
}

pub async fn run(store: Store, config: &Config, cmd: PlanCommand) -> Result<(), CliError> {
    let own = (PlanEvents::default(), FlagCache::default());
    let service = PlanService::from_config(store.clone(), config, own);
    match cmd {
        PlanCommand::Validate { file } => validate(file),
        PlanCommand::Import { file } => {
            let text = read(&file)?;
            check(&file, &text)?;
            let plan = service.import_as(&Acting::cli(), &text, None).await?;
            println!(
                "imported plan {:?} as {} (draft, {} phases, flag {})",
                plan.name, plan.id, plan.phases_total, plan.flag_key
            );
            Ok(())
        }
        PlanCommand::Export {
            plan,
            output,
            sha256,
        } => {
            let id = service.resolve(&plan).await?;
            let source = match sha256 {
                None => service.source_of(&id).await?,
                Some(sha) => {
                    let mut conn = store
                        .pool()
                        .acquire()
                        .await
                        .map_err(crate::db::StoreError::from)?;
                    crate::plans::store::sources::get(&mut conn, &id, &sha)
                        .await?
                        .ok_or_else(|| {
                            CliError::Invalid(format!(
                                "--sha256: plan {plan:?} has no file {sha:?} (give the SHA-256 an audit event names, or 12 or more of its first hex digits)"
                            ))
                        })?
                }
            };
            match output {
                Some(path) => std::fs::write(&path, source.as_bytes()).map_err(|e| {
                    CliError::Runtime(format!("cannot write {}: {e}", path.display()))
                }),
                None => std::io::stdout()
                    .write_all(source.as_bytes())
                    .map_err(|e| CliError::Runtime(format!("cannot write: {e}"))),
            }
        }
        PlanCommand::List => {
            println!("{:<32} {:<12} {:<24} NAME", "ID", "STATUS", "FLAG");
            for p in service.summaries().await? {
                println!(
                    "{:<32} {:<12} {:<24} {}",
                    p.id, p.status, p.flag_key, p.name
                );
            }
            Ok(())
        }
    }
}
