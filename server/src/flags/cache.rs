//! Flags as evaluations read them: one snapshot of every flag, read from the
//! store in two queries and kept for at most `MAX_AGE`; a change this process
//! makes marks it stale, so the next evaluation reads the store again. A
//! change made elsewhere (another console instance, the CLI) is seen within
//! `MAX_AGE` plus one read. Evaluations never query per flag: one flag and
//! the bulk answer of 350 read the same map.
//!
//! Open OFREP event streams subscribe to the snapshots (`subscribe`);
//! `keep_fresh` reads the store for them while any is open, so a change
//! reaches a browser without a request.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{watch, Notify};

use super::bucketing::FlagRule;
use super::store::{self, FlagRecord};
use crate::db::{Store, StoreError};

pub const MAX_AGE: Duration = Duration::from_millis(500);

/// One flag as evaluations need it: its record, the plan that owns it, and
/// its rule in each environment, made once per read of the store.
#[derive(Debug)]
pub struct Flag {
    pub record: FlagRecord,
    pub plan_id: String,
    pub plan_name: String,
    rules: HashMap<String, FlagRule>,
    /// The rule where the plan has not been (off, every denied entity denied).
    unreached: FlagRule,
}

fn rule_of(state: super::store::EnvState, salt: &str) -> FlagRule {
    FlagRule {
        enabled: state.enabled,
        basis_points: state.exposure_bp.clamp(0, 10_000) as u16,
        allow: state.allow.into_iter().collect(),
        deny: state.deny.into_iter().collect(),
        salt: salt.to_string(),
    }
}

impl Flag {
    pub fn new(record: FlagRecord, plan_id: String, plan_name: String) -> Flag {
        let rules = record
            .states
            .keys()
            .map(|env| (env.clone(), rule_of(record.state(env), &record.salt)))
            .collect();
        let unreached = rule_of(record.unreached(), &record.salt);
        Flag {
            record,
            plan_id,
            plan_name,
            rules,
            unreached,
        }
    }

    /// The rule in `environment` (off where the plan has not been).
    pub fn rule(&self, environment: &str) -> &FlagRule {
        self.rules.get(environment).unwrap_or(&self.unreached)
    }

    /// What last set the flag in `environment` ("" where nothing has).
    pub fn set_by(&self, environment: &str) -> &str {
        self.record
            .states
            .get(environment)
            .map_or("", |s| s.set_by.as_str())
    }
}

/// Every flag, by key, as read at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub flags: HashMap<String, Arc<Flag>>,
    /// The keys in order (the bulk answer lists them so).
    pub keys: Vec<String>,
    /// `None` for the empty snapshot before the first read.
    read_at: Option<Instant>,
    /// Per environment: a digest of everything an evaluation there reads.
    digests: Mutex<HashMap<String, Arc<str>>>,
}

impl Snapshot {
    /// A snapshot of `flags`, read now.
    pub fn of(flags: Vec<Flag>) -> Snapshot {
        let flags: HashMap<String, Arc<Flag>> = flags
            .into_iter()
            .map(|f| (f.record.key.clone(), Arc::new(f)))
            .collect();
        let mut keys: Vec<String> = flags.keys().cloned().collect();
        keys.sort();
        Snapshot {
            flags,
            keys,
            read_at: Some(Instant::now()),
            digests: Mutex::default(),
        }
    }

    fn fresh(&self) -> bool {
        self.read_at.is_some_and(|t| t.elapsed() < MAX_AGE)
    }

    /// Old enough that an evaluation must wait for a new read (a change is
    /// seen within one second).
    fn too_old(&self) -> bool {
        self.read_at.is_none_or(|t| t.elapsed() >= 2 * MAX_AGE)
    }

    /// A digest of every flag's plan, key, values and state in
    /// `environment`: equal digests answer every entity alike.
    pub fn digest(&self, environment: &str) -> Arc<str> {
        if let Some(d) = self
            .digests
            .lock()
            .ok()
            .and_then(|d| d.get(environment).cloned())
        {
            return d;
        }
        let mut h = Sha256::new();
        for key in &self.keys {
            let flag = &self.flags[key];
            let f = &flag.record;
            // The answer's metadata names the plan: a renamed plan is a new answer.
            h.update(format!("{}\u{0}{}\u{0}", flag.plan_id, flag.plan_name).as_bytes());
            let s = f.state(environment);
            let v = &f.values;
            h.update(
                format!(
                    "{key}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{}\u{1}",
                    f.salt,
                    v.value_type.as_str(),
                    v.on,
                    v.off,
                    v.on_variant,
                    v.off_variant,
                    s.enabled,
                    s.exposure_bp,
                    s.allow,
                    s.deny,
                    s.set_by,
                )
                .as_bytes(),
            );
        }
        let digest: Arc<str> = crate::audit::chain::hex(&h.finalize()[..16]).into();
        if let Ok(mut d) = self.digests.lock() {
            d.insert(environment.to_string(), digest.clone());
        }
        digest
    }
}

struct Inner {
    current: watch::Sender<Arc<Snapshot>>,
    /// A change this process made since the last read.
    stale: AtomicBool,
    /// One read of the store at a time.
    reading: tokio::sync::Mutex<()>,
    changed: Notify,
}

#[derive(Clone)]
pub struct FlagCache {
    inner: Arc<Inner>,
}

impl Default for FlagCache {
    fn default() -> Self {
        FlagCache {
            inner: Arc::new(Inner {
                current: watch::Sender::new(Arc::new(Snapshot::default())),
                stale: AtomicBool::new(true),
                reading: tokio::sync::Mutex::new(()),
                changed: Notify::new(),
            }),
        }
    }
}

impl FlagCache {
    /// Every flag as of at most `MAX_AGE` ago (a reader may get the previous
    /// snapshot while another reads the store, never one older than twice
    /// that), and at once after a change this process made.
    pub async fn snapshot(&self, store: &Store) -> Result<Arc<Snapshot>, StoreError> {
        let current = self.inner.current.borrow().clone();
        let stale = self.inner.stale.load(Ordering::Acquire);
        if !stale && current.fresh() {
            return Ok(current);
        }
        let _reading = if stale || current.too_old() {
            self.inner.reading.lock().await
        } else {
            match self.inner.reading.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(current),
            }
        };
        let current = self.inner.current.borrow().clone();
        if !self.inner.stale.load(Ordering::Acquire) && current.fresh() {
            return Ok(current);
        }
        self.read(store).await
    }

    /// Reads the store (the caller holds `reading`).
    async fn read(&self, store: &Store) -> Result<Arc<Snapshot>, StoreError> {
        // A change from here on marks the new snapshot stale again.
        self.inner.stale.store(false, Ordering::Release);
        let read = async {
            let mut conn = store.pool().acquire().await?;
            let records = store::by_plan(&mut conn).await?;
            let names = store::plan_names(&mut conn).await?;
            Ok::<_, StoreError>((records, names))
        };
        let (records, names) = match read.await {
            Ok(r) => r,
            Err(e) => {
                self.inner.stale.store(true, Ordering::Release);
                return Err(e);
            }
        };
        let snapshot = Arc::new(Snapshot::of(
            records
                .into_iter()
                .map(|(plan_id, record)| {
                    let plan_name = names.get(&plan_id).cloned().unwrap_or_default();
                    Flag::new(record, plan_id, plan_name)
                })
                .collect(),
        ));
        self.inner.current.send_replace(snapshot.clone());
        Ok(snapshot)
    }

    /// The flag with this key (its rule per environment), or `None` when no
    /// plan owns that key.
    pub async fn flag(&self, store: &Store, key: &str) -> Result<Option<Arc<Flag>>, StoreError> {
        Ok(self.snapshot(store).await?.flags.get(key).cloned())
    }

    /// The flag's rule in `environment` (off where it was never set), or
    /// `None` when no plan owns that key.
    pub async fn get(
        &self,
        store: &Store,
        key: &str,
        environment: &str,
    ) -> Result<Option<FlagRule>, StoreError> {
        Ok(self
            .flag(store, key)
            .await?
            .map(|f| f.rule(environment).clone()))
    }

    /// This process changed the flag: the next evaluation reads the store,
    /// and open event streams hear of it.
    pub fn forget(&self, _key: &str) {
        self.inner.stale.store(true, Ordering::Release);
        self.inner.changed.notify_one();
    }

    /// Snapshots as they are read, for an event stream.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.inner.current.subscribe()
    }

    /// While any event stream is open, reads the store after every change
    /// this process makes and every `MAX_AGE` (for changes made elsewhere);
    /// otherwise sleeps. The server runs it for as long as it serves.
    pub async fn keep_fresh(self, store: Store) {
        loop {
            tokio::select! {
                _ = self.inner.changed.notified() => {}
                _ = tokio::time::sleep(MAX_AGE) => {}
            }
            if self.inner.current.receiver_count() == 0 {
                continue;
            }
            let _reading = self.inner.reading.lock().await;
            if let Err(e) = self.read(&store).await {
                tracing::warn!(error = %e, "reading the flags for open event streams failed");
            }
        }
    }
}
