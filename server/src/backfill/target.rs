//! Target databases, named in the configuration (`[targets.NAME]`): their
//! URLs (from the file, or from an environment variable so the secret stays
//! out of files) and connection pools.
use std::collections::BTreeMap;
use std::time::Duration;

use app::dto::StoreBackend;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::error::BackfillError;
use crate::config::TargetConfig;
use crate::db::StoreUrl;

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub url: StoreUrl,
    pub pool: AnyPool,
}

impl Target {
    pub fn backend(&self) -> StoreBackend {
        self.url.backend()
    }
}

/// The URL of target `name`, resolved; errors name the setting to fix.
pub fn resolve(
    targets: &BTreeMap<String, TargetConfig>,
    name: &str,
) -> Result<StoreUrl, BackfillError> {
    let cfg = targets.get(name).ok_or_else(|| {
        BackfillError::Invalid(format!(
            "target {name:?} is not configured; configured targets: {} (add [targets.{name}] url = \"postgres://…\" or url_env = \"VAR\" to console.toml)",
            targets.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let raw = match (&cfg.url, &cfg.url_env) {
        (Some(url), _) => url.clone(),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            BackfillError::Invalid(format!(
                "target {name:?}: the environment variable {var} (targets.{name}.url_env) is not set"
            ))
        })?,
        (None, None) => {
            return Err(BackfillError::Invalid(format!(
                "target {name:?}: give targets.{name}.url or targets.{name}.url_env"
            )))
        }
    };
    StoreUrl::parse(&raw).map_err(|e| BackfillError::Invalid(format!("target {name:?}: {e}")))
}

/// Opens a small pool to the target. SQLite targets wait up to 5 s for a
/// lock instead of failing at once.
pub async fn connect(
    targets: &BTreeMap<String, TargetConfig>,
    name: &str,
) -> Result<Target, BackfillError> {
    let url = resolve(targets, name)?;
    sqlx::any::install_default_drivers();
    if let StoreUrl::Sqlite { path } = &url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| BackfillError::Target {
                target: name.to_string(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
    }
    let mut options = AnyPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10));
    if url.backend() == StoreBackend::Sqlite {
        options = options.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
                    .await?;
                Ok(())
            })
        });
    }
    let pool = options
        .connect(&url.connect_url())
        .await
        .map_err(|e| BackfillError::Target {
            target: name.to_string(),
            message: format!("cannot connect to {}: {e}", url.redacted()),
        })?;
    Ok(Target {
        name: name.to_string(),
        url,
        pool,
    })
}

/// The connection test of the UI and the CLI: connects and asks the server
/// its version.
pub async fn test(
    targets: &BTreeMap<String, TargetConfig>,
    name: &str,
) -> Result<String, BackfillError> {
    let target = connect(targets, name).await?;
    let sql = match target.backend() {
        StoreBackend::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
        StoreBackend::Postgres => "SELECT version()",
    };
    let version: String = sqlx::query_scalar(sql)
        .fetch_one(&target.pool)
        .await
        .map_err(|e| BackfillError::Target {
            target: name.to_string(),
            message: e.to_string(),
        })?;
    target.pool.close().await;
    Ok(format!("{name}: {} — {version}", target.url.redacted()))
}
