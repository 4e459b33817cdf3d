//! Flags as evaluations read them: from the store, kept for at most
//! `MAX_AGE`, and dropped at once when this process changes one. A change made
//! elsewhere (another console instance, the CLI) is seen within `MAX_AGE`.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::bucketing::FlagRule;
use super::store;
use crate::db::{Store, StoreError};

pub const MAX_AGE: Duration = Duration::from_millis(500);

/// When it was read, and the flag in every environment (`None`: no such flag).
type Entry = (Instant, Option<Arc<store::FlagRecord>>);

#[derive(Clone, Default)]
pub struct FlagCache {
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl FlagCache {
    /// The flag's rule in `environment` (off where it was never set), or
    /// `None` when no plan owns that key.
    pub async fn get(
        &self,
        store: &Store,
        key: &str,
        environment: &str,
    ) -> Result<Option<FlagRule>, StoreError> {
        let cached = self.entries.read().ok().and_then(|e| e.get(key).cloned());
        let flag = match cached {
            Some((at, flag)) if at.elapsed() < MAX_AGE => flag,
            _ => {
                let mut conn = store.pool().acquire().await?;
                let flag = store::by_key(&mut conn, key).await?.map(Arc::new);
                // Only flags that exist are kept: unknown keys (anyone with
                // flags:read can ask for any) must not grow the cache.
                if let (Some(flag), Ok(mut entries)) = (&flag, self.entries.write()) {
                    entries.insert(key.to_string(), (Instant::now(), Some(flag.clone())));
                }
                flag
            }
        };
        Ok(flag.map(|f| {
            let state = f.state(environment);
            FlagRule {
                enabled: state.enabled,
                basis_points: state.exposure_bp.clamp(0, 10_000) as u16,
                allow: state.allow.into_iter().collect(),
                deny: state.deny.into_iter().collect(),
                salt: f.salt.clone(),
            }
        }))
    }

    /// This process changed the flag: the next evaluation reads the store.
    pub fn forget(&self, key: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(key);
        }
    }
}
