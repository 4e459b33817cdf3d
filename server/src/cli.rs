//! The command line: `serve` (default) and `migrate`, and how a failed start
//! becomes one line and an exit code (2: a setting is wrong, 1: anything else).
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, ConfigError, Loaded};
use crate::db::{Store, StoreError, StoreUrl};
use crate::http::{self, AppState};
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "rollout-console",
    version,
    about = "Rollout Console: phased rollouts with flags, backfills, approvals and an audit trail",
    long_about = "Rollout Console: phased rollouts with flags, backfills, approvals and an audit trail.\n\n\
Settings come from defaults, then console.toml (or --config FILE), then the environment: \
DATABASE_URL, CONSOLE_LISTEN, CONSOLE_DATABASE_URL, CONSOLE_SITE_ROOT, CONSOLE_LOG_FORMAT, \
CONSOLE_LOG_LEVEL, LEPTOS_SITE_ADDR, LEPTOS_SITE_ROOT.\n\n\
Exit codes: 0 success, 1 runtime failure, 2 a setting or argument is wrong."
)]
pub struct Cli {
    /// Settings file; without it, ./console.toml is read when present.
    #[arg(
        long,
        short,
        global = true,
        env = "CONSOLE_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open (and migrate) the store and serve the console over HTTP. The default.
    Serve,
    /// Apply pending store migrations, print the migration level, and exit.
    Migrate,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Runtime(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => 2,
            CliError::Runtime(_) => 1,
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let loaded = config::load(cli.config.as_deref())?;
    telemetry::init(&loaded.config);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&loaded).await,
        Command::Migrate => {
            let (store, level) = open_store(&loaded).await?;
            println!(
                "store {} at {}: migration #{} {} ({} of {} applied)",
                store.backend(),
                store.location(),
                level.applied_version,
                level.applied_description,
                level.applied_count,
                level.known_count
            );
            store.close().await;
            Ok(())
        }
    }
}

/// Connects to the configured store and brings it to the current migration.
pub async fn open_store(loaded: &Loaded) -> Result<(Store, app::dto::MigrationLevel), CliError> {
    let origin = loaded.origin("database_url");
    // Validated by config::load already; parse again to get the typed URL.
    let url = StoreUrl::parse(&loaded.config.database_url)
        .map_err(|p| ConfigError::new("database_url", &origin, p, crate::db::URL_HINT))?;
    let store = Store::connect(&url).await.map_err(|e| match e {
        StoreError::CreateDir { .. } => {
            ConfigError::new("database_url", &origin, e.to_string(), "choose a path the console can write to").into()
        }
        _ => CliError::from(ConfigError::new(
            "database_url",
            &origin,
            e.to_string(),
            "check that the database server is running and that the URL, user and password are right",
        )),
    })?;
    let level = store.migrate().await.map_err(|e| {
        CliError::Runtime(format!(
            "migrating the store at {} failed: {e}",
            store.location()
        ))
    })?;
    tracing::info!(
        store = %store.backend(),
        location = %store.location(),
        migration = level.applied_version,
        "store ready"
    );
    Ok((store, level))
}

async fn serve(loaded: &Loaded) -> Result<(), CliError> {
    let addr = loaded.listen_addr()?;
    let (store, _) = open_store(loaded).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        ConfigError::new(
            "listen",
            &loaded.origin("listen"),
            format!("cannot listen on {addr}: {e}"),
            "stop what holds the port or choose another with CONSOLE_LISTEN",
        )
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    let state = AppState::new(store.clone(), &loaded.config, bound)
        .map_err(|e| CliError::Runtime(format!("setting up metrics failed: {e}")))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "Rollout Console listening on http://{bound}"
    );
    http::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| CliError::Runtime(format!("the HTTP server stopped: {e}")))?;
    store.close().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
