//! The evaluator: about once a second (and at once when the console's clock
//! is moved), every guardrail of every active
//! plan's phase under way whose interval has passed is read, judged and
//! recorded; a change of state (healthy → failed, failed → error, …) is
//! audited as the system, in the reading's transaction, and open plan pages
//! are told. When a streak passes its limit (`plans::streak::acts_now`)
//! the guardrail acts, once: failures and errors take its `action` (pause,
//! standard or emergency rollback), inconclusive readings pause; as the
//! system, with the evidence, in the rollback's transaction. `dry_run`
//! records what it would have done instead.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;

use serde_json::json;

use super::measure::Sources;
use crate::clock::Clock;
use crate::db::{Store, StoreError};
use crate::events::PlanEvents;
use crate::plans::acting::Acting;
use crate::plans::guardrail::measurements::{self, Measurement, Watched};
use crate::plans::guardrail::streak::{acts_now, Trigger};
use crate::plans::guardrail::{judge, GuardrailDef, Outcome, Reading};
use crate::plans::PlanService;
use app::dto::plans::RollbackKind;

#[derive(Clone)]
pub struct Evaluator {
    pub store: Store,
    pub sources: Sources,
    pub clock: Clock,
    pub events: PlanEvents,
    /// Takes the actions (as the system).
    pub plans: PlanService,
    pub passes: super::passes::Passes,
    pub baselines: super::baselines::Baselines,
    pub in_flight: InFlight,
}

type Key = (String, String, String);

/// The guardrails being read right now, as (plan, environment, guardrail),
/// each with a lock its reading holds: a later pass does not read it again
/// but waits for that reading before it calls itself complete, so a slow
/// source delays no other guardrail's reading or action, only the pass's
/// completion (`passes`), which still means every due reading was taken.
pub type InFlight = Arc<Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>>;

/// At most this many readings run at once (each holds a source's
/// connection or HTTP request until its deadline).
const CONCURRENT_READINGS: usize = 8;

/// A reading's deadline: its interval, at least 1 s and at most 10 s.
fn deadline(def: &GuardrailDef) -> Duration {
    Duration::from_millis(def.interval_ms.clamp(1_000, 10_000) as u64)
}

/// A guardrail claimed for one reading (released when dropped), or one
/// another pass is reading, to wait for.
enum Claim {
    Read {
        in_flight: InFlight,
        key: Key,
        _reading: tokio::sync::OwnedMutexGuard<()>,
    },
    Wait(Arc<tokio::sync::Mutex<()>>),
}

/// One guardrail of one watched phase, due for a reading.
struct Due {
    watched: Arc<Watched>,
    def: GuardrailDef,
    /// Its newest reading's time and outcome.
    previous: Option<(i64, Outcome)>,
    claim: Claim,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Claim::Read { in_flight, key, .. } = self {
            in_flight.lock().unwrap().remove(key);
        }
    }
}

impl Evaluator {
    /// One pass: every due guardrail of every watched plan not already being
    /// read is read, concurrently (bounded); how many readings it recorded.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let watched = {
            let mut conn = self.store.pool().acquire().await?;
            measurements::watched(&mut conn).await?
        };
        let mut due = Vec::new();
        for w in watched.into_iter().map(Arc::new) {
            due.extend(self.due(&w).await?);
        }
        let results: Vec<Result<usize, StoreError>> = futures_util::stream::iter(due)
            .map(|d| async move {
                match &d.claim {
                    Claim::Read { .. } => self
                        .read_one(&d.watched, &d.def, d.previous)
                        .await
                        .map(|()| 1),
                    Claim::Wait(lock) => {
                        drop(lock.lock().await);
                        Ok(0)
                    }
                }
            })
            .buffer_unordered(CONCURRENT_READINGS)
            .collect()
            .await;
        let mut recorded = 0;
        for r in results {
            recorded += r?;
        }
        Ok(recorded)
    }

    /// The guardrails of `w` due for a reading, each claimed.
    async fn due(&self, w: &Arc<Watched>) -> Result<Vec<Due>, StoreError> {
        let Some(file) = crate::plans::file::parsed::parsed(&w.source_toml) else {
            return Ok(Vec::new());
        };
        let defs: Vec<GuardrailDef> = file
            .guardrails
            .iter()
            .map(|g| GuardrailDef::from_spec(g.get_ref()))
            .filter(|g| g.watches(&w.environment))
            .collect();
        if defs.is_empty() {
            return Ok(Vec::new());
        }
        let last: HashMap<String, (i64, Outcome)> = {
            let mut conn = self.store.pool().acquire().await?;
            measurements::latest(&mut conn, &w.plan_id)
                .await?
                .into_iter()
                .filter(|m| m.environment == w.environment)
                .map(|m| (m.guardrail, (m.at_ms, m.outcome)))
                .collect()
        };
        let mut out = Vec::new();
        for def in defs {
            // A phase just started is read at once (its baseline taken with
            // that first reading); then once per interval.
            let previous = last.get(&def.name).copied();
            let due = previous.is_none_or(|(at, _)| {
                at < w.started_at_ms || self.clock.now_ms() - at >= def.interval_ms
            });
            if !due {
                continue;
            }
            let key = (w.plan_id.clone(), w.environment.clone(), def.name.clone());
            let claim = {
                let mut in_flight = self.in_flight.lock().unwrap();
                match in_flight.get(&key) {
                    Some(lock) => Claim::Wait(lock.clone()),
                    None => {
                        let lock = Arc::new(tokio::sync::Mutex::new(()));
                        let guard = lock.clone().try_lock_owned().expect("a new lock is free");
                        in_flight.insert(key.clone(), lock);
                        Claim::Read {
                            in_flight: self.in_flight.clone(),
                            key,
                            _reading: guard,
                        }
                    }
                }
            };
            out.push(Due {
                watched: w.clone(),
                def,
                previous,
                claim,
            });
        }
        Ok(out)
    }

    /// Reads, judges and records one guardrail, and acts on it.
    async fn read_one(
        &self,
        w: &Watched,
        def: &GuardrailDef,
        previous: Option<(i64, Outcome)>,
    ) -> Result<(), StoreError> {
        // A baseline that could not be read (the source erred) makes
        // this reading an error, which counts toward the error limit,
        // not an inconclusive one that pauses at once; it is asked
        // again with the next reading.
        let (baseline, baseline_error) = if def.needs_baseline() {
            match self.baseline(w, def).await? {
                Ok(b) => (b, None),
                Err(e) => (None, Some(e)),
            }
        } else {
            (None, None)
        };
        let value = self
            .sources
            .read(&def.source, None, &w.environment, deadline(def))
            .await;
        let sample = match &def.sample {
            Some((query, _)) => Some(
                self.sources
                    .read(&def.source, Some(query), &w.environment, deadline(def))
                    .await,
            ),
            None => None,
        };
        if let Some(b) = baseline {
            self.baselines.set(&w.plan_id, &def.name, &w.environment, b);
        }
        let mut judged = judge(def, &value, sample.as_ref(), baseline);
        if let Some(e) = baseline_error {
            judged.outcome = Outcome::Error;
            judged.detail = format!("the baseline could not be read: {e}");
        }
        // The time is taken once the write transaction holds the store (on
        // SQLite the write lock): readings running at once are stamped in
        // the order they are stored, so the trail's times never go back.
        let mut tx = self.store.begin_write().await?;
        let now = self.clock.now_ms();
        let m = Measurement {
            plan_id: w.plan_id.clone(),
            guardrail: def.name.clone(),
            environment: w.environment.clone(),
            at_ms: now,
            value: judged.value,
            sample: judged.sample,
            bounds: (
                def.min.and_then(|b| b.resolve(baseline)),
                def.max.and_then(|b| b.resolve(baseline)),
            ),
            threshold: def.threshold(baseline),
            outcome: judged.outcome,
            detail: judged.detail.clone(),
            read_from: None,
        };
        let sample_query = def.sample.as_ref().map(|(q, _)| q.as_str());
        let (from, query) = self
            .sources
            .resolved(&def.source, sample_query, &w.environment);
        let source_id = match self.sources.known_id(&from, &query) {
            Some(id) => id,
            None => measurements::source_id(&mut tx, &from, &query).await?,
        };
        measurements::insert(&mut tx, &m, Some(source_id)).await?;
        let changed = previous.is_none_or(|(_, before)| before != judged.outcome);
        if changed {
            let details = json!({
                "guardrail": def.name, "environment": w.environment,
                "from": previous.map(|(_, o)| o.as_str()), "to": judged.outcome.as_str(),
                "value": judged.value, "threshold": m.threshold, "detail": judged.detail,
                "action": def.action, "dry_run": def.dry_run,
            });
            Acting::system()
                .audit(&mut tx, now, "guardrail.state", &w.plan_id, details)
                .await?;
        }
        tx.commit().await.map_err(StoreError::Query)?;
        self.sources.remember_id(from, query, source_id);
        if changed {
            self.events.changed(&w.plan_id);
        }
        self.act(w, def, &m).await
    }

    /// The baseline of `def` for the phase under way: the rollout's in its
    /// environment (by default: captured the first time the guardrail is
    /// read there and kept for every later phase) or the phase's own
    /// (`baseline = "phase"`). Captured once, as the value just before the
    /// phase started (PromQL, asked at that time), or the last value read
    /// before it (SQL). `Ok(None)` while there is none; `Err` with why when
    /// its source did not answer.
    async fn baseline(
        &self,
        w: &Watched,
        def: &GuardrailDef,
    ) -> Result<Result<Option<f64>, String>, StoreError> {
        let key = (def.name.as_str(), w.environment.as_str());
        let mut conn = self.store.pool().acquire().await?;
        let which = def.baseline_key(w.started_at_ms);
        if let Some(b) = measurements::baseline(&mut conn, &w.plan_id, key, which).await? {
            return Ok(Ok(Some(b)));
        }
        let at = self.clock.system_ms(w.started_at_ms);
        let mut window = def.baseline_window_ms;
        let mut asked = self
            .sources
            .read_at(&def.source, &w.environment, at, window)
            .await;
        // A window that holds no sample yet (a Prometheus younger than the
        // subquery's first step): the value at the phase's start, and the
        // stored baseline says so.
        if window.is_some() && matches!(&asked, Some((Reading::Values(v), _)) if v.is_empty()) {
            window = None;
            asked = self
                .sources
                .read_at(&def.source, &w.environment, at, None)
                .await
                .map(|(r, q)| (r, format!("{q} (the window held no sample yet)")));
        }
        let (captured, query) = match asked {
            Some((Reading::Values(v), q)) if v.len() == 1 && v[0].is_finite() => (Some(v[0]), q),
            Some((Reading::Error(e), _)) => return Ok(Err(e)),
            Some(_) => (None, String::new()),
            None => (
                measurements::value_before(&mut conn, &w.plan_id, key, w.started_at_ms).await?,
                "the last value read before the phase".to_string(),
            ),
        };
        if let Some(value) = captured {
            let at = (which, value, self.clock.now_ms());
            measurements::save_baseline(&mut conn, &w.plan_id, key, at, (&query, window)).await?;
        }
        Ok(Ok(captured))
    }

    /// Acts on `def`'s newest reading `m` when its streak just passed its
    /// limit.
    async fn act(
        &self,
        w: &Watched,
        def: &GuardrailDef,
        m: &Measurement,
    ) -> Result<(), StoreError> {
        let readings = {
            let mut conn = self.store.pool().acquire().await?;
            let key = (def.name.as_str(), w.environment.as_str());
            measurements::streak(&mut conn, &w.plan_id, key, w.started_at_ms).await?
        };
        let Some(trigger) = acts_now(def, &readings) else {
            return Ok(());
        };
        let kind = match (trigger.outcome, def.action.as_str()) {
            (_, "record") => None,
            (Outcome::Inconclusive, _) | (_, "pause") => Some(RollbackKind::Pause),
            (_, "emergency") => Some(RollbackKind::Emergency),
            _ => Some(RollbackKind::Standard),
        };
        let Some(kind) = kind else {
            return Ok(());
        };
        let why = reason(def, trigger, m);
        let evidence = json!({
            "guardrail": def.name, "environment": w.environment, "phase": w.phase,
            "outcome": trigger.outcome.as_str(), "readings": trigger.readings,
            "value": m.value, "threshold": m.threshold, "detail": m.detail,
            "action": kind.as_str(), "dry_run": def.dry_run,
        });
        if def.dry_run {
            let mut tx = self.store.begin_write().await?;
            let now = self.clock.now_ms();
            Acting::system()
                .audit(&mut tx, now, "guardrail.action", &w.plan_id, evidence)
                .await?;
            tx.commit().await.map_err(StoreError::Query)?;
            return Ok(());
        }
        let phase = (w.phase.as_str(), w.environment.as_str());
        match self
            .plans
            .act_for_guardrail(&w.plan_id, phase, kind, why, evidence)
            .await
        {
            Ok(Some(done)) => {
                tracing::warn!(plan = %w.plan_id, guardrail = %def.name, action = kind.as_str(), "{done}");
                self.events.changed(&w.plan_id);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(plan = %w.plan_id, guardrail = %def.name, error = %e, "guardrail action failed")
            }
        }
        Ok(())
    }

    /// Runs a pass about once a second, and whenever the clock is moved,
    /// for as long as the server runs.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = self.clock.moved() => {}
                }
                // Each pass is a task of its own: one waiting for a slow
                // reading does not hold back the next second's pass.
                let pass = self.clone();
                tokio::spawn(async move {
                    let started = pass.clock.now_ms();
                    match pass.tick().await {
                        Ok(_) => pass.passes.completed(started),
                        // A store closed under a pass: the console is stopping.
                        Err(_) if pass.store.pool().is_closed() => {}
                        Err(e) => tracing::warn!(error = %e, "guardrail evaluation pass failed"),
                    }
                });
            }
        });
    }
}

/// The rollback's reason, for the audit trail and the plan page.
fn reason(def: &GuardrailDef, t: Trigger, m: &Measurement) -> String {
    format!(
        "guardrail {:?}: {} {} reading(s) in a row in {} ({}; healthy is {})",
        def.name,
        t.readings,
        t.outcome.as_str(),
        m.environment,
        m.detail,
        m.threshold
    )
}
