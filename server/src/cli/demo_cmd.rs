//! `rollout-console demo …`: the seed-shaped demo target (`seed`) and a
//! lived-in console on a new store (`history`, see `demo_history`).
use clap::Subcommand;

use super::{demo_history, with_store, CliError};
use crate::backfill::{demo, target};
use crate::config::Loaded;

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// (Re)create the demo target's tables with legacy projects.
    Seed {
        #[arg(long, default_value_t = 100_000)]
        rows: i64,
        /// Which target to fill.
        #[arg(long, default_value = "demo")]
        target: String,
    },
    /// On a store with no plan yet: seed the demo target and play a week of
    /// the STI rollout (people, approvals, backfills, a rollback), so a new
    /// user finds a console in use. Prints the demo users' passwords once.
    History {
        #[arg(long, default_value_t = 100_000)]
        rows: i64,
    },
}

pub async fn run(loaded: &Loaded, cmd: DemoCommand) -> Result<(), CliError> {
    match cmd {
        DemoCommand::Seed { rows, target } => seed(loaded, rows, &target).await,
        DemoCommand::History { rows } => {
            if !(1_000..=1_000_000).contains(&rows) {
                return Err(CliError::Invalid(format!(
                    "--rows {rows}: use 1000 to 1000000"
                )));
            }
            let config = loaded.config.clone();
            with_store(loaded, |store| async move {
                demo_history::run(store, &config, rows).await
            })
            .await
        }
    }
}

async fn seed(loaded: &Loaded, rows: i64, name: &str) -> Result<(), CliError> {
    if !(1..=50_000_000).contains(&rows) {
        return Err(CliError::Invalid(format!(
            "--rows {rows}: use 1 to 50000000"
        )));
    }
    let t = target::connect(&loaded.config.targets, name).await?;
    let started = std::time::Instant::now();
    demo::seed(&t.pool, t.backend(), rows).await?;
    let (orgs, per_table) = crate::backfill::demo::finance::sizes(rows);
    println!(
        "seeded target {name} ({}) in {:.1} s: {rows} legacy projects (projects_project, \
         empty projects_schoolproject and projects_selfstudyproject); {} organisations and \
         {} revenue and {} expense transactions, copied to their *_partitioned tables, \
         with dual-write triggers",
        t.url.redacted(),
        started.elapsed().as_secs_f64(),
        orgs,
        per_table,
        per_table,
    );
    t.close().await;
    Ok(())
}
