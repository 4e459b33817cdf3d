//! Where sessions live: tower-sessions' sqlx store on the console's active
//! backend, in the table the console's own migrations create. A row is keyed
//! by a SHA-256 of the session id, never the id itself (as API tokens are
//! stored hashed): someone who reads the store — a backup, a plan query that
//! once reached it — learns no cookie that signs them in.
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::db::{Store, StoreError, StoreUrl};

/// The key a session's row is stored under: the first 16 bytes of
/// SHA-256 over its id, as an id of the same form.
pub fn stored_id(id: &Id) -> Id {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("rollout-console session {id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

/// Deletes one session row by its id (the cookie's), inside a console
/// transaction (sign-out records its audit event in the same one).
pub async fn delete(
    conn: &mut sqlx::AnyConnection,
    backend: app::dto::StoreBackend,
    id: &Id,
) -> Result<(), sqlx::Error> {
    let id = stored_id(id).to_string();
    let sql = match backend {
        app::dto::StoreBackend::Sqlite => "DELETE FROM tower_sessions WHERE id = $1",
        app::dto::StoreBackend::Postgres => "DELETE FROM tower_sessions.session WHERE id = $1",
    };
    sqlx::query(sql).bind(id).execute(conn).await?;
    Ok(())
}

/// The session layer failing is the console's own fault (logged once, at
/// the boundary that answers).
impl crate::error_kind::Classify for tower_sessions::session::Error {
    fn kind(&self) -> crate::error_kind::Kind {
        crate::error_kind::Kind::Internal
    }
}

/// One type over both backends, since the session layer is generic over it.
#[derive(Debug, Clone)]
pub enum ConsoleSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl ConsoleSessionStore {
    /// A small typed pool beside the store's `Any` pool, on the same database.
    pub async fn open(store: &Store) -> Result<Self, StoreError> {
        let connect_error = |source| StoreError::Connect {
            location: store.location(),
            source,
        };
        Ok(match store.url() {
            StoreUrl::Sqlite { .. } => {
                let options = SqliteConnectOptions::from_str(&store.url().connect_url())
                    .map_err(connect_error)?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(connect_error)?;
                ConsoleSessionStore::Sqlite(SqliteStore::new(pool))
            }
            StoreUrl::Postgres { .. } => {
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(&store.url().connect_url())
                    .await
                    .map_err(connect_error)?;
                ConsoleSessionStore::Postgres(PostgresStore::new(pool))
            }
        })
    }

    /// Deletes expired sessions every `period`, for as long as the server runs.
    pub fn spawn_cleanup(&self, period: Duration) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "deleting expired sessions failed");
                }
            }
        });
    }
}

impl ConsoleSessionStore {
    /// The backend's own store, which does the work.
    fn backend(&self) -> &dyn SessionStore {
        match self {
            ConsoleSessionStore::Sqlite(s) => s,
            ConsoleSessionStore::Postgres(s) => s,
        }
    }
}

/// `record` as stored: under `stored_id`.
fn stored(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        ..record.clone()
    }
}

#[async_trait::async_trait]
impl SessionStore for ConsoleSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A new id until none is taken (with 128 random bits, the first).
        while self.backend().load(&stored_id(&record.id)).await?.is_some() {
            record.id = Id::default();
        }
        self.backend().save(&stored(record)).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.backend().save(&stored(record)).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self
            .backend()
            .load(&stored_id(id))
            .await?
            .map(|r| Record { id: *id, ..r }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.backend().delete(&stored_id(id)).await
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for ConsoleSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            ConsoleSessionStore::Sqlite(s) => s.delete_expired().await,
            ConsoleSessionStore::Postgres(s) => s.delete_expired().await,
        }
    }
}
