//! Target databases, named in the configuration (`[targets.NAME]`): their
//! URLs (from the file, or from an environment variable so the secret stays
//! out of files), connection pools, and the checks that keep plan SQL on
//! them: never the console's own store, no superuser unless the
//! configuration allows it, every statement admitted by `sandbox` first.
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::dto::StoreBackend;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::error::BackfillError;
use super::job::Job;
use super::sandbox::{self, Access};
use crate::config::TargetConfig;
use crate::db::StoreUrl;

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub url: StoreUrl,
    /// For the statements that write (a chunk's transaction, undo).
    pub pool: AnyPool,
    /// For the statements that only read: on PostgreSQL its sessions are
    /// `default_transaction_read_only`, so a query that writes fails there.
    pub read_pool: AnyPool,
    /// Connected as a superuser, which `allow_superuser` permitted.
    pub superuser: bool,
    admitted: Arc<Mutex<HashSet<(Access, String)>>>,
}

impl Target {
    pub fn backend(&self) -> StoreBackend {
        self.url.backend()
    }

    /// Refuses `sql` unless `sandbox` admits it for this target (on SQLite,
    /// SQLite itself is asked too); `field` names it in the message.
    pub fn admit(&self, field: &str, sql: &str, access: Access) -> Result<(), BackfillError> {
        let key = (access, sql.to_string());
        if self.admitted.lock().unwrap().contains(&key) {
            return Ok(());
        }
        let refused = |m: String| {
            BackfillError::Invalid(format!(
                "{field} on target {:?} {m}; nothing was run (fix the plan file)",
                self.name
            ))
        };
        sandbox::check(sql, access, self.backend()).map_err(refused)?;
        if let StoreUrl::Sqlite { path } = &self.url {
            sandbox::engine_check_sqlite(path, sql, access).map_err(refused)?;
        }
        self.admitted.lock().unwrap().insert(key);
        Ok(())
    }

    /// A transaction for statements that only read, to be dropped without a
    /// commit: it ends in a rollback, so nothing the statement did (a
    /// setting changed included) outlives it. On PostgreSQL it is `READ
    /// ONLY`, and `statement_timeout` (`limit`), `lock_timeout` and
    /// `idle_in_transaction_session_timeout` are set before the plan's
    /// statement runs.
    pub async fn read_tx(
        &self,
        limit: Duration,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        let mut tx = self.read_pool.begin().await?;
        if self.backend() == StoreBackend::Postgres {
            tx.execute("SET TRANSACTION READ ONLY").await?;
            tx.execute(timeouts(limit).as_str()).await?;
        }
        Ok(tx)
    }

    /// Admits every statement of `job` before any of them runs.
    pub fn admit_job(&self, job: &Job) -> Result<(), BackfillError> {
        for (field, sql, access) in job.statements(self.backend()) {
            self.admit(&format!("job {:?}: {field}", job.name), sql, access)?;
        }
        Ok(())
    }
}

/// How long a plan statement that reads may run (guardrails ask for less).
pub const READ_LIMIT: Duration = Duration::from_secs(30);

/// `SET LOCAL` of the three PostgreSQL timeouts every plan statement runs
/// under: `statement` for the statement itself, 2 s to wait for a lock, and
/// a transaction left idle is ended after a minute.
pub fn timeouts(statement: Duration) -> String {
    format!(
        "SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = 2000; \
         SET LOCAL idle_in_transaction_session_timeout = 60000",
        statement.as_millis().max(1)
    )
}

/// The environment target `name` is configured to hold the data of, when
/// that is not `environment`: evidence read there counts for no other.
pub fn serves_other<'a>(
    targets: &'a BTreeMap<String, TargetConfig>,
    name: &str,
    environment: &str,
) -> Option<&'a str> {
    targets
        .get(name)
        .and_then(|t| t.environment.as_deref())
        .filter(|serves| *serves != environment)
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

/// Whether `a` and `b` name the same database (a SQLite file reached by two
/// paths, a PostgreSQL host by `localhost` or its loopback address). Used at
/// start-up so the console's own store can never be a target; `connect`
/// also recognises a store by its tables, whatever the URL.
pub fn same_database(a: &StoreUrl, b: &StoreUrl) -> bool {
    match (a, b) {
        (StoreUrl::Sqlite { path: p }, StoreUrl::Sqlite { path: q }) => {
            let real = |p: &std::path::Path| {
                std::fs::canonicalize(p).unwrap_or_else(|_| {
                    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
                    let dir =
                        dir.map_or_else(|| std::path::PathBuf::from("."), |d| d.to_path_buf());
                    std::fs::canonicalize(&dir)
                        .unwrap_or(dir)
                        .join(p.file_name().unwrap_or_default())
                })
            };
            real(p) == real(q)
        }
        (StoreUrl::Postgres { url: u }, StoreUrl::Postgres { url: v }) => {
            let host = |u: &url::Url| match u.host_str().unwrap_or_default().to_lowercase().as_str()
            {
                "localhost" | "127.0.0.1" | "::1" | "[::1]" => "loopback".to_string(),
                h => h.to_string(),
            };
            host(u) == host(v)
                && u.port().unwrap_or(5432) == v.port().unwrap_or(5432)
                && u.path() == v.path()
        }
        _ => false,
    }
}

/// Opens two small pools to the target (one for writes, one whose sessions
/// only read). SQLite targets wait up to 5 s for a lock instead of failing
/// at once. Refused: a database that holds a Rollout Console store, and on
/// PostgreSQL a superuser unless `allow_superuser` says so.
pub async fn connect(
    targets: &BTreeMap<String, TargetConfig>,
    name: &str,
) -> Result<Target, BackfillError> {
    let url = resolve(targets, name)?;
    let allow_superuser = targets.get(name).is_some_and(|t| t.allow_superuser);
    sqlx::any::install_default_drivers();
    if let StoreUrl::Sqlite { path } = &url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| BackfillError::Target {
                target: name.to_string(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
    }
    let failed = |e: sqlx::Error| BackfillError::Target {
        target: name.to_string(),
        message: format!("cannot connect to {}: {e}", url.redacted()),
    };
    let options = |read_only: bool| {
        let backend = url.backend();
        AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    match backend {
                        StoreBackend::Sqlite => {
                            conn.execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
                                .await?;
                        }
                        StoreBackend::Postgres if read_only => {
                            // Session defaults for the reads that run outside
                            // `read_tx` (a backfill's key queries): the plan's
                            // SQL cannot change them (no SET, no set_config).
                            conn.execute(
                                "SET default_transaction_read_only = on; \
                                 SET statement_timeout = 30000; SET lock_timeout = 2000; \
                                 SET idle_in_transaction_session_timeout = 60000",
                            )
                            .await?;
                        }
                        StoreBackend::Postgres => {}
                    }
                    Ok(())
                })
            })
    };
    let pool = options(false)
        .connect(&url.connect_url())
        .await
        .map_err(failed)?;
    let guard = |message: String| BackfillError::Invalid(format!("target {name:?}: {message}"));
    let is_console_store = match url.backend() {
        StoreBackend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('audit_head', 'console_meta')"
        }
        StoreBackend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN ('audit_head', 'console_meta')"
        }
    };
    let console_tables: i64 = sqlx::query_scalar(is_console_store)
        .fetch_one(&pool)
        .await
        .map_err(failed)?;
    if console_tables == 2 {
        pool.close().await;
        return Err(guard(format!(
            "{} holds a Rollout Console store; plan SQL never runs on the console's own tables (point the target at the application's database)",
            url.redacted()
        )));
    }
    let mut superuser = false;
    if url.backend() == StoreBackend::Postgres {
        let (user, is_super): (String, bool) = sqlx::query_as(
            "SELECT current_user::text, rolsuper FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&pool)
        .await
        .map_err(failed)?;
        if is_super && !allow_superuser {
            pool.close().await;
            return Err(guard(format!(
                "connects as {user:?}, a superuser, who could reach every database and file of the server; \
                 give the target a role with only the grants its jobs need (docs/security.md), \
                 or set targets.{name}.allow_superuser = true"
            )));
        }
        superuser = is_super;
    }
    let read_pool = match url.backend() {
        StoreBackend::Sqlite => pool.clone(),
        StoreBackend::Postgres => options(true)
            .connect(&url.connect_url())
            .await
            .map_err(failed)?,
    };
    Ok(Target {
        name: name.to_string(),
        url,
        pool,
        read_pool,
        superuser,
        admitted: Arc::default(),
    })
}

impl Target {
    pub async fn close(&self) {
        self.pool.close().await;
        self.read_pool.close().await;
    }
}

/// The connection test of the UI and the CLI: connects (with the checks
/// above) and asks the server its version.
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
        .fetch_one(&target.read_pool)
        .await
        .map_err(|e| BackfillError::Target {
            target: name.to_string(),
            message: e.to_string(),
        })?;
    target.close().await;
    let warning = if target.superuser {
        " — warning: connects as a superuser (allowed by allow_superuser = true); plan SQL can reach the whole server"
    } else {
        ""
    };
    Ok(format!(
        "{name}: {} — {version}{warning}",
        target.url.redacted()
    ))
}
