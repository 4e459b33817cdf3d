//! `rollout-console demo …`: the seed-shaped demo target (`seed`), a
//! lived-in console on a new store (`history`, see `demo_history`), and the
//! application the demo rolls out (`app`, `fail`, `metrics`: `demo_app`).
use clap::Subcommand;

use super::{demo_app, demo_history, with_store, CliError};
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
    /// Serve the demo application of one environment: it reads the plan's
    /// flag over OFREP, sends itself traffic and exposes /metrics.
    App(demo_app::AppArgs),
    /// Turn the failure switch of a running demo app on (or off with --off).
    Fail {
        /// The app's address, e.g. http://127.0.0.1:3102.
        url: String,
        #[arg(long)]
        off: bool,
    },
    /// Write past hours of the demo apps' metrics in OpenMetrics, for
    /// `promtool tsdb create-blocks-from openmetrics`.
    Metrics {
        /// Each app as ENVIRONMENT=HOST:PORT, as Prometheus scrapes it.
        #[arg(long = "app", required = true, value_parser = scraped)]
        apps: Vec<(String, String)>,
        /// How many hours back from now.
        #[arg(long, default_value_t = 72)]
        hours: i64,
        /// Requests per second (the apps' --rate).
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Seconds between two samples (the scrape interval).
        #[arg(long, default_value_t = 15)]
        step: i64,
    },
}

fn scraped(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((env, at)) if !env.is_empty() && !at.is_empty() => Ok((env.into(), at.into())),
        _ => Err(format!(
            "{s:?}: give ENVIRONMENT=HOST:PORT, e.g. staging=127.0.0.1:3101"
        )),
    }
}

pub async fn run(loaded: &Loaded, cmd: DemoCommand) -> Result<(), CliError> {
    match cmd {
        DemoCommand::Seed { rows, target } => seed(loaded, rows, &target).await,
        DemoCommand::App(args) => demo_app::run(args).await,
        DemoCommand::Fail { url, off } => demo_app::switch(&url, !off).await,
        DemoCommand::Metrics {
            apps,
            hours,
            rate,
            step,
        } => metrics(&apps, hours, rate, step),
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

fn metrics(apps: &[(String, String)], hours: i64, rate: f64, step: i64) -> Result<(), CliError> {
    if !(1..=24 * 30).contains(&hours)
        || !(1..=300).contains(&step)
        || !(0.0..=1000.0).contains(&rate)
    {
        return Err(CliError::Invalid(format!(
            "--hours {hours} --step {step} --rate {rate}: use 1 to 720 hours, 1 to 300 s and 0 to \
             1000 requests per second"
        )));
    }
    let apps: Vec<_> = apps
        .iter()
        .map(|(environment, instance)| demo_app::history::Scraped {
            environment: environment.clone(),
            instance: instance.clone(),
        })
        .collect();
    let now_s = crate::system::now_ms() / 1000;
    // Up to the last whole step before now: the live scrapes follow.
    let to = now_s - now_s % step - step;
    let out = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(out);
    demo_app::history::write(
        &mut out,
        &apps,
        (to - hours * 3600, to, step),
        rate,
        now_s as u64,
    )
    .and_then(|()| std::io::Write::flush(&mut out))
    .map_err(|e| CliError::Runtime(format!("writing the metrics failed: {e}")))
}
