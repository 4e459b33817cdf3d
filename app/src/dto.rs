//! Data shapes exchanged between the browser and the server.
use serde::{Deserialize, Serialize};

pub mod audit;
pub mod backfill;
pub mod identity;
pub mod live;
pub mod notify;
pub mod plan_commands;
pub mod plan_states;
pub mod plans;
pub mod whole;

/// Which database holds the console's own state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    Sqlite,
    Postgres,
}

impl StoreBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreBackend::Sqlite => "sqlite",
            StoreBackend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The newest migration applied to the store, and how many exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationLevel {
    /// Version of the newest applied migration (0 when none is applied).
    pub applied_version: i64,
    /// Its description, as in the migration's file name.
    pub applied_description: String,
    /// Number of applied migrations.
    pub applied_count: u32,
    /// Number of migrations this build knows.
    pub known_count: u32,
}

impl MigrationLevel {
    pub fn is_current(&self) -> bool {
        self.applied_count == self.known_count
    }
}

/// Facts about the running server, shown on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemFacts {
    pub version: String,
    pub store: StoreBackend,
    /// Where the store lives, without credentials (a file path or host/db).
    pub store_location: String,
    pub migration: MigrationLevel,
    /// Server start time and "now", unix milliseconds.
    pub started_at_ms: i64,
    pub now_ms: i64,
    /// Targets the configuration lets connect as a PostgreSQL superuser
    /// (`allow_superuser = true`); listed to admins only.
    #[serde(default)]
    pub superuser_targets: Vec<String>,
}
