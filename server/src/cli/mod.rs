//! The command line: `serve` (default), `migrate`, and the admin commands
//! (`user`, `token`, `audit`), and how a failure becomes one line and an exit
//! code (2: a setting or argument is wrong, 3: the audit chain is broken,
//! 1: anything else).
mod audit_cmd;
mod backfill_cmd;
mod demo_app;
mod demo_cmd;
mod demo_history;
mod plan_cmd;
mod token_cmd;
mod user_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{self, ConfigError, Loaded};
use crate::db::{Store, StoreError, StoreUrl};
use crate::error_kind::Kind;
use crate::http;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "rollout-console",
    version,
    about = "Rollout Console: phased rollouts with flags, backfills, approvals and an audit trail",
    long_about = "Rollout Console: phased rollouts with flags, backfills, approvals and an audit trail.\n\n\
Settings come from defaults, then console.toml (or --config FILE), then the environment: \
DATABASE_URL, CONSOLE_LISTEN, CONSOLE_DATABASE_URL, CONSOLE_SITE_ROOT, CONSOLE_LOG_FORMAT, \
CONSOLE_LOG_LEVEL, CONSOLE_PUBLIC_URL, CONSOLE_SESSION_IDLE_TIMEOUT_SECS, \
CONSOLE_SESSION_ABSOLUTE_TIMEOUT_SECS, LEPTOS_SITE_ADDR, LEPTOS_SITE_ROOT.\n\n\
Exit codes: 0 success, 1 runtime failure, 2 a setting or argument is wrong, \
3 `audit verify` found the chain broken."
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
    /// Manage people: add, change password, disable, enable, list.
    #[command(subcommand)]
    User(user_cmd::UserCommand),
    /// Manage API tokens for machines: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// Check and export the audit trail.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Plans as code: validate, import, export, list.
    #[command(subcommand)]
    Plan(plan_cmd::PlanCommand),
    /// Backfill jobs of a plan: run (or dry-run), undo, verify, status.
    #[command(subcommand)]
    Backfill(backfill_cmd::BackfillCommand),
    /// Target databases from the configuration: test a connection, list them.
    #[command(subcommand)]
    Target(backfill_cmd::TargetCommand),
    /// The demo: seed its target with legacy projects, or make a lived-in
    /// history on a new store.
    #[command(subcommand)]
    Demo(demo_cmd::DemoCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Runtime(String),
    /// An argument is wrong; the message says which and how to fix it.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    ChainBroken(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Invalid(_) => Kind::Invalid.exit_code(),
            CliError::ChainBroken(_) => 3,
            CliError::Runtime(_) => Kind::Internal.exit_code(),
        }
    }

    /// A failure of `kind`: what the user can fix exits 2, the rest 1.
    fn of_kind(kind: Kind, message: String) -> CliError {
        if kind.user_can_fix() {
            CliError::Invalid(message)
        } else {
            CliError::Runtime(message)
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let loaded = config::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Serve);
    telemetry::init(&loaded.config, matches!(command, Command::Serve));
    match command {
        Command::Serve => serve(&loaded).await,
        Command::User(cmd) => with_store(&loaded, |store| user_cmd::run(store, cmd)).await,
        Command::Token(cmd) => {
            let environments = loaded.config.environments.clone();
            with_store(&loaded, |store| async move {
                token_cmd::run(store, &environments, cmd).await
            })
            .await
        }
        // An export is checked without the console's store.
        Command::Audit(audit_cmd::AuditCommand::Verify {
            export: Some(path), ..
        }) => audit_cmd::verify_export(&path),
        Command::Audit(cmd) => with_store(&loaded, |store| audit_cmd::run(store, cmd)).await,
        Command::Plan(plan_cmd::PlanCommand::Validate { file }) => plan_cmd::validate(file),
        Command::Plan(cmd) => {
            let config = loaded.config.clone();
            with_store(&loaded, |store| async move {
                plan_cmd::run(store, &config, cmd).await
            })
            .await
        }
        Command::Backfill(cmd) => {
            let config = loaded.config.clone();
            with_store(&loaded, |store| async move {
                backfill_cmd::run(&config, store, cmd).await
            })
            .await
        }
        Command::Target(cmd) => backfill_cmd::target_cmd(&loaded.config, cmd).await,
        Command::Demo(cmd) => demo_cmd::run(&loaded, cmd).await,
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

/// Opens the store, runs `f` on it, and closes it whatever `f` returned.
async fn with_store<F, Fut>(loaded: &Loaded, f: F) -> Result<(), CliError>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<(), CliError>>,
{
    let (store, _) = open_store(loaded).await?;
    let result = f(store.clone()).await;
    // What the command wrote is anchored outside the store at once (a
    // refusal is for `audit verify` to report, not this command).
    if let Err(problem) = crate::audit::anchor::checkpoint(&store).await {
        tracing::debug!(%problem, "audit anchor not moved");
    }
    store.close().await;
    result
}

/// What a port said no to, from a command that drives the ports itself
/// (`demo history`).
impl From<app::error::AppError> for CliError {
    fn from(e: app::error::AppError) -> Self {
        CliError::of_kind(Kind::of_app_error(&e), e.to_string())
    }
}

/// Any layer's error becomes one line and the exit code of its kind. The
/// operator at the terminal sees internal causes too: they are theirs.
impl<E: crate::error_kind::Classify> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::of_kind(e.kind(), e.to_string())
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
    let store = match loaded.anchor_dir() {
        Some(dir) => store.with_anchor_dir(dir),
        None => store,
    };
    let level = store.migrate().await.map_err(|e| {
        CliError::Runtime(format!(
            "migrating the store at {} failed: {e}",
            store.location()
        ))
    })?;
    // A new store is anchored before anything writes to it (see
    // audit::anchor); a refusal is for `audit verify` to report.
    if let Err(problem) = crate::audit::anchor::checkpoint(&store).await {
        tracing::debug!(%problem, "audit anchor not moved");
    }
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
    // Plan SQL never runs on the console's own tables: a target that names
    // the store is a configuration error (connect refuses it again).
    for name in loaded.config.targets.keys() {
        if let Ok(url) = crate::backfill::target::resolve(&loaded.config.targets, name) {
            if crate::backfill::target::same_database(&url, store.url()) {
                return Err(ConfigError::new(
                    &format!("targets.{name}"),
                    &loaded.origin("targets"),
                    format!("{} is the console's own store", url.redacted()),
                    "point the target at the application's database, never the console's",
                )
                .into());
            }
        }
    }
    for (name, _) in loaded
        .config
        .targets
        .iter()
        .filter(|(_, t)| t.allow_superuser)
    {
        tracing::warn!(target_name = %name, "allow_superuser = true: {}", crate::system::SUPERUSER_WARNING);
    }
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
    let started = crate::startup::start(store.clone(), &loaded.config, bound)
        .await
        .map_err(|e| CliError::Runtime(e.0))?;
    if let Some(password) = &started.admin_password {
        // stdout, not the log: it must not end up in log aggregation.
        println!(
            "\nNo admin existed, so one was created.\n  username: {}\n  password: {password}\n\
             It is shown only this once. Sign in and keep it safe, or change it with\n  \
             rollout-console user passwd {}\n",
            crate::auth::bootstrap::ADMIN,
            crate::auth::bootstrap::ADMIN
        );
    }
    let state = started.state;
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
