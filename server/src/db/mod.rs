//! The console's own store: one sqlx `Any` pool over SQLite (default) or
//! PostgreSQL, the embedded migrations of each backend, and store health.
mod url;

use std::time::Duration;

use app::dto::{MigrationLevel, StoreBackend};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

pub use self::url::{StoreUrl, URL_HINT};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {dir}: {source}")]
    CreateDir { dir: String, source: std::io::Error },
    #[error("cannot open {location}: {source}")]
    Connect {
        location: String,
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// What a write refused by a unique constraint (a name taken, a second
/// decision by one person, a second unfinished run) means to the caller:
/// `taken()` makes that error; any other failure stays the store's.
pub fn on_constraint<E: From<StoreError>>(
    e: impl Into<StoreError>,
    taken: impl FnOnce() -> E,
) -> E {
    let e = e.into();
    match &e {
        StoreError::Query(q)
            if q.as_database_error()
                .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation) =>
        {
            taken()
        }
        _ => E::from(e),
    }
}

/// A connection pool to the console's store.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    url: StoreUrl,
    /// Where a PostgreSQL store's audit anchor lives (`audit_anchor_dir`);
    /// `None`: the default (see `audit::anchor`).
    anchor_dir: Option<std::sync::Arc<std::path::PathBuf>>,
    /// The migrations table was seen (it is never dropped): not asked again.
    migrated: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Store {
    /// Opens the store (creating a SQLite file and its directory if needed).
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &StoreUrl) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5));
        if let StoreUrl::Sqlite { path } = url {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    dir: dir.display().to_string(),
                    source,
                })?;
            }
            // WAL lets readers run beside the single writer; NORMAL sync is
            // durable across application crashes, which is what WAL needs.
            options = options.max_connections(8).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(16);
        }
        let pool = options
            .connect(&url.connect_url())
            .await
            .map_err(|source| StoreError::Connect {
                location: url.redacted(),
                source,
            })?;
        Ok(Store {
            pool,
            url: url.clone(),
            anchor_dir: None,
            migrated: Default::default(),
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// The store with its audit anchor kept in `dir` (PostgreSQL stores).
    pub fn with_anchor_dir(mut self, dir: std::path::PathBuf) -> Store {
        self.anchor_dir = Some(std::sync::Arc::new(dir));
        self
    }

    pub fn anchor_dir(&self) -> Option<&std::path::Path> {
        self.anchor_dir.as_deref().map(|p| p.as_path())
    }

    pub fn backend(&self) -> StoreBackend {
        self.url.backend()
    }

    pub fn location(&self) -> String {
        self.url.redacted()
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend() {
            StoreBackend::Sqlite => &SQLITE_MIGRATIONS,
            StoreBackend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every pending migration; a no-op when the store is current.
    pub async fn migrate(&self) -> Result<MigrationLevel, StoreError> {
        self.migrator().run(&self.pool).await?;
        self.migration_level().await
    }

    /// What is applied versus what this build knows.
    pub async fn migration_level(&self) -> Result<MigrationLevel, StoreError> {
        let known: Vec<i64> = self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect();
        let rows: Vec<AnyRow> = if self.has_migrations_table().await? {
            sqlx::query(
                "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await?
        } else {
            Vec::new()
        };
        let applied: Vec<(i64, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let (applied_version, applied_description) =
            applied.last().cloned().unwrap_or((0, String::new()));
        Ok(MigrationLevel {
            applied_version,
            applied_description,
            applied_count: applied.iter().filter(|(v, _)| known.contains(v)).count() as u32,
            known_count: known.len() as u32,
        })
    }

    async fn has_migrations_table(&self) -> Result<bool, StoreError> {
        use std::sync::atomic::Ordering;
        if self.migrated.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let sql = match self.backend() {
            StoreBackend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            // A lookup in the catalog's cache (the `pg_tables` view joins
            // four catalogs: 2.6 ms of the dashboard's 20).
            StoreBackend::Postgres => "SELECT COUNT(to_regclass('_sqlx_migrations'))",
        };
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&self.pool).await?;
        self.migrated.store(n > 0, Ordering::Relaxed);
        Ok(n > 0)
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads first
    /// could not upgrade after another writer commits, and would fail instead
    /// of waiting. On PostgreSQL row locks do the serializing.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend() {
            StoreBackend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            StoreBackend::Postgres => self.pool.begin().await?,
        })
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A value from `console_meta`, the store's own facts (e.g. `instance_id`).
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM console_meta WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
