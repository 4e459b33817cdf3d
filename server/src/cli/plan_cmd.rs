//! `rollout-console plan …`: plans as code.
use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use crate::plans::spec;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Check a plan file; print every problem as FILE:LINE:COLUMN: FIELD: what
    /// is wrong. Stores nothing. Exit 2 when the file has problems.
    Validate { file: PathBuf },
}

pub fn run(cmd: PlanCommand) -> Result<(), CliError> {
    match cmd {
        PlanCommand::Validate { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Invalid(format!("cannot read {}: {e}", file.display())))?;
            match spec::validate(&text) {
                Ok(plan) => {
                    println!(
                        "{}: plan {:?} is valid ({} phases, flag {})",
                        file.display(),
                        plan.plan.name.get_ref(),
                        plan.phases.len(),
                        plan.plan.flag.get_ref()
                    );
                    Ok(())
                }
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{}:{p}", file.display());
                    }
                    Err(CliError::Invalid(format!(
                        "{}: {} problem{} found; nothing was stored",
                        file.display(),
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    )))
                }
            }
        }
    }
}
