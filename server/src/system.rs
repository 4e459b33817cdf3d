//! Facts about the running console (version, store, migration level), served
//! to the dashboard through the `SystemPort`.
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use app::access::Action;
use app::dto::SystemFacts;
use app::error::AppError;
use app::service::{Caller, SystemPort};

use crate::db::Store;

pub struct SystemService {
    store: Store,
    started_at_ms: i64,
    superuser_targets: Vec<String>,
}

impl SystemService {
    pub fn new(store: Store) -> Self {
        SystemService {
            store,
            started_at_ms: now_ms(),
            superuser_targets: Vec::new(),
        }
    }

    /// The targets `allow_superuser` lets connect as a superuser.
    pub fn with_superuser_targets(mut self, names: Vec<String>) -> Self {
        self.superuser_targets = names;
        self
    }
}

/// What `allow_superuser` gives plan authors, said plainly (start-up log,
/// the admin's dashboard).
pub const SUPERUSER_WARNING: &str =
    "plan SQL runs there as a PostgreSQL superuser: anyone who may \
     write plans (a plans:write token included) can read and change every database of that server, \
     and read and write files on its host as the operating-system user running PostgreSQL; \
     the function list and read-only sessions are the only fence. Give the target a role with only \
     the grants its jobs need (docs/security.md)";

/// How far this process's time is set back. Only `demo history` sets it, in
/// its own process, to write a week of history that ends before the console
/// is served; it never goes below 0 (never ahead of the wall clock).
static BACKDATED_MS: AtomicI64 = AtomicI64::new(0);

/// Wall-clock time as unix milliseconds (minus [`backdate`]).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        - BACKDATED_MS.load(Ordering::Relaxed)
}

/// Sets this process's time `ms` behind the wall clock (0: on it again).
pub fn backdate(ms: i64) {
    BACKDATED_MS.store(ms.max(0), Ordering::Relaxed);
}

pub fn backdated_ms() -> i64 {
    BACKDATED_MS.load(Ordering::Relaxed)
}

#[async_trait::async_trait]
impl SystemPort for SystemService {
    async fn system_facts(&self, caller: &Caller) -> Result<SystemFacts, AppError> {
        caller.require(Action::ViewConsole)?;
        let migration = self.store.migration_level().await?;
        let admin = caller.require(Action::ManageUsers).is_ok();
        Ok(SystemFacts {
            version: env!("CARGO_PKG_VERSION").to_string(),
            store: self.store.backend(),
            // Where the store lives helps an attacker aim (a file path, a
            // host): admins only.
            store_location: if admin {
                self.store.location()
            } else {
                "(shown to admins)".to_string()
            },
            migration,
            started_at_ms: self.started_at_ms,
            now_ms: now_ms(),
            superuser_targets: if admin {
                self.superuser_targets.clone()
            } else {
                Vec::new()
            },
        })
    }
}
