//! `rollout-console backfill …` and `target …`: run a plan's
//! backfill jobs from the command line, one line per chunk, as the seeds'
//! `backfill_sti --chunk N --dry-run --resume-from KEY` did.
use clap::{Args, Subcommand};

use super::CliError;
use crate::audit::{Actor, ClientInfo};
use crate::backfill::metrics::BackfillMetrics;
use crate::backfill::runner::{ChunkReport, Outcome};
use crate::backfill::runs::{self, Mode};
use crate::backfill::target;
use crate::config::Config;
use crate::db::Store;
use crate::events::PlanEvents;
use crate::flags::cache::FlagCache;
use crate::jobs::manager::{JobManager, Prepared, StartRequest};
use crate::plans::PlanService;

#[derive(Debug, Subcommand)]
pub enum BackfillCommand {
    /// Run (or dry-run) a plan's job; resumes its unfinished run if there is one.
    Run {
        /// The plan's id or name.
        plan: String,
        /// The job's name in the plan file.
        job: String,
        /// Keys per chunk to start with.
        #[arg(long)]
        chunk: Option<i64>,
        /// Apply each chunk in a transaction that is rolled back; report what
        /// it would create.
        #[arg(long)]
        dry_run: bool,
        /// Start after this key (the checkpoint of an earlier run, say).
        #[arg(long)]
        resume_from: Option<i64>,
        #[command(flatten)]
        on: On,
        /// Run live although the plan objects (no clean dry-run on this
        /// target, not one of the job's phases): why, for the audit trail.
        #[arg(long)]
        override_reason: Option<String>,
    },
    /// Remove exactly what the job's latest run created.
    Undo {
        plan: String,
        job: String,
        #[command(flatten)]
        on: On,
    },
    /// Compare legacy and new row counts (delta and coverage).
    Verify {
        plan: String,
        job: String,
        #[command(flatten)]
        on: On,
    },
    /// Runs of a plan's jobs (or of every plan), newest first, with failing keys.
    Status { plan: Option<String> },
}

#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// Connect to a target and print its server version.
    Test { name: String },
    /// The configured targets (URLs without passwords).
    List,
}

/// Which environment a run is for.
#[derive(Debug, Args, Default)]
pub struct On {
    /// The environment the run's evidence counts for; the job runs on its
    /// target there (default: the plan's current phase's environment).
    #[arg(long)]
    environment: Option<String>,
}

/// What a start asks beyond its job and mode.
#[derive(Default)]
struct Asked {
    chunk: Option<i64>,
    resume_from: Option<i64>,
    on: On,
    override_reason: Option<String>,
}

/// Runs this process drives are owned by it.
fn cli_owner() -> String {
    format!("cli:{}", std::process::id())
}

fn print_chunk(r: &ChunkReport) {
    let share = r
        .total_estimate
        .filter(|t| *t > 0)
        .map(|t| format!(" ({:.1} %)", r.processed as f64 * 100.0 / t as f64))
        .unwrap_or_default();
    let total = r
        .total_estimate
        .map(|t| format!("/{t}"))
        .unwrap_or_default();
    let eta = r
        .eta_secs()
        .map(|s| format!(" · ETA {s:.0} s"))
        .unwrap_or_default();
    let t = &r.times;
    let steps = if t.hold_ms > 0.0 {
        format!(
            " (statement {:.1}, record {:.1}, commit {:.1}; bounds {:.1} beside, checkpoint {:.1} after)",
            t.statement_ms, t.record_ms, t.commit_ms, t.bounds_ms, t.checkpoint_ms
        )
    } else {
        String::new()
    };
    println!(
        "chunk {}: keys {}..={} ({} keys) created {} errors {} in {:.0} ms{steps} · {}{}{} · {:.0} rows/s{}",
        r.index,
        r.after_key.map_or("start".to_string(), |k| (k + 1).to_string()),
        r.last_key,
        r.keys,
        r.created,
        r.errors,
        r.elapsed_ms,
        r.processed,
        total,
        share,
        r.rows_per_sec,
        eta
    );
}

/// Records the run through the same checks and take-over rule the server
/// uses (`JobManager::prepare`); a run marked running is taken over only
/// when its driver went silent.
async fn prepare(
    config: &Config,
    store: &Store,
    (plan, job): (&str, String),
    mode: Mode,
    asked: Asked,
) -> Result<Prepared, CliError> {
    let own = (PlanEvents::default(), FlagCache::default());
    let service = PlanService::from_config(store.clone(), config, own);
    let plan_id = service.resolve(plan).await?;
    let metrics = BackfillMetrics::register(&prometheus::Registry::new())
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    let jobs = JobManager::from_config(store.clone(), config, PlanEvents::default(), metrics);
    let request = StartRequest {
        actor: Actor::cli(),
        client: ClientInfo::cli(),
        plan_id,
        job,
        mode,
        chunk: asked.chunk,
        resume_from: asked.resume_from,
        environment: asked.on.environment,
        override_reason: asked.override_reason,
    };
    Ok(jobs.prepare(request, &cli_owner(), true).await?)
}

fn outcome(o: Outcome, run_id: &str) -> Result<(), CliError> {
    match o {
        Outcome::Done => {
            println!("run {run_id}: done");
            Ok(())
        }
        Outcome::Paused(reason) => Err(CliError::Runtime(format!(
            "run {run_id} paused: {reason}; run the same command again to resume"
        ))),
        Outcome::Cancelled => Err(CliError::Runtime(format!("run {run_id} cancelled"))),
        Outcome::Failed(reason) => Err(CliError::Runtime(format!("run {run_id} failed: {reason}"))),
    }
}

pub async fn run(config: &Config, store: Store, cmd: BackfillCommand) -> Result<(), CliError> {
    match cmd {
        BackfillCommand::Run {
            plan,
            job,
            chunk,
            dry_run,
            resume_from,
            on,
            override_reason,
        } => {
            let mode = if dry_run { Mode::DryRun } else { Mode::Run };
            let asked = Asked {
                chunk,
                resume_from,
                on,
                override_reason,
            };
            let prepared = prepare(config, &store, (&plan, job), mode, asked).await?;
            let mut runner = prepared.runner;
            if prepared.resumed {
                println!(
                    "resuming run {} after key {}",
                    runner.run.id,
                    runner
                        .run
                        .last_key
                        .map_or("(start)".into(), |k| k.to_string())
                );
            }
            let control = runner.control.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("pausing after the current chunk…");
                    control.pause();
                }
            });
            println!(
                "run {} ({}) of {} on target {} for {}: chunk {}{}",
                runner.run.id,
                mode.as_str(),
                runner.job.name,
                runner.run.target,
                runner.run.environment,
                runner.run.chunk_size,
                runner
                    .run
                    .total_estimate
                    .map(|t| format!(", about {t} keys"))
                    .unwrap_or_default()
            );
            let o = runner.run(print_chunk).await?;
            println!(
                "processed {} · created {}{} · skipped {} · errors {}",
                runner.run.processed,
                runner.run.created,
                if dry_run {
                    " (would create; rolled back)"
                } else {
                    ""
                },
                runner.run.skipped,
                runner.run.errors
            );
            for (key, error) in runs::errors(&runner.store, &runner.run.id, 20).await? {
                println!("  error at key {key}: {error}");
            }
            outcome(o, &runner.run.id)
        }
        BackfillCommand::Undo { plan, job, on } => {
            let asked = Asked {
                on,
                ..Asked::default()
            };
            let prepared = prepare(config, &store, (&plan, job), Mode::Undo, asked).await?;
            let sources = prepared.undo_sources.unwrap_or_default();
            let mut runner = prepared.runner;
            println!(
                "undoing what {} run(s) of {} created",
                sources.len(),
                runner.job.name
            );
            let o = runner.undo(&sources, print_chunk).await?;
            println!("removed {}", runner.run.created);
            outcome(o, &runner.run.id)
        }
        BackfillCommand::Verify { plan, job, on } => {
            let asked = Asked {
                on,
                ..Asked::default()
            };
            let mut runner = prepare(config, &store, (&plan, job), Mode::Verify, asked)
                .await?
                .runner;
            let r = runner.verify().await?;
            println!(
                "legacy {} · new {} · delta {} (allowed {}) · coverage {} % · {}",
                r["legacy"],
                r["new"],
                r["delta"],
                r["max_delta"],
                r["coverage_pct"],
                if r["passed"] == true {
                    "passed"
                } else {
                    "FAILED"
                }
            );
            if r["passed"] == true {
                Ok(())
            } else {
                Err(CliError::Runtime(
                    "verify failed: the delta is above the allowed one".into(),
                ))
            }
        }
        BackfillCommand::Status { plan } => {
            let own = (PlanEvents::default(), FlagCache::default());
            let service = PlanService::from_config(store.clone(), config, own);
            let plans = match plan {
                Some(p) => vec![service.resolve(&p).await?],
                None => service
                    .summaries()
                    .await?
                    .into_iter()
                    .map(|p| p.id)
                    .collect(),
            };
            println!(
                "{:<32} {:<20} {:<8} {:<10} {:>10} {:>10} {:>8} {:>12}",
                "RUN", "JOB", "MODE", "STATUS", "PROCESSED", "CREATED", "ERRORS", "LAST KEY"
            );
            for plan_id in plans {
                for r in runs::of_plan(&store, &plan_id).await? {
                    println!(
                        "{:<32} {:<20} {:<8} {:<10} {:>10} {:>10} {:>8} {:>12}",
                        r.id,
                        r.job,
                        r.mode.as_str(),
                        r.status,
                        r.processed,
                        r.created,
                        r.errors,
                        r.last_key.map_or("-".into(), |k| k.to_string())
                    );
                    if let Some(reason) = r.result.get("reason").and_then(|v| v.as_str()) {
                        println!("  {reason}");
                    }
                }
            }
            Ok(())
        }
    }
}

pub async fn target_cmd(config: &Config, cmd: TargetCommand) -> Result<(), CliError> {
    match cmd {
        TargetCommand::Test { name } => {
            println!("{}", target::test(&config.targets, &name).await?);
            Ok(())
        }
        TargetCommand::List => {
            for name in config.targets.keys() {
                match target::resolve(&config.targets, name) {
                    Ok(url) => println!("{name}: {} ({})", url.redacted(), url.backend()),
                    Err(e) => println!("{name}: {e}"),
                }
            }
            Ok(())
        }
    }
}
