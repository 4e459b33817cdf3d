//! Counters under the names a playbook watches: a job that declares
//! `metric = "sti_backfill_processed_total"` (with `metric_labels`) has the
//! keys its live runs created and failed exported as that counter, with
//! `status` = created | error. Read from the store every few seconds, so
//! runs a command line drove count as much as the server's own.
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use prometheus::{IntCounterVec, Opts, Registry};

use crate::backfill::job::Job;
use crate::backfill::runs;
use crate::db::Store;

pub struct JobMetrics {
    store: Store,
    registry: Registry,
    /// Each counter by name, with its label names (status first).
    counters: HashMap<String, (IntCounterVec, Vec<String>)>,
    /// What was counted so far, per (plan, job, status).
    counted: HashMap<(String, String, &'static str), i64>,
}

impl JobMetrics {
    pub fn new(store: Store, registry: Registry) -> JobMetrics {
        JobMetrics {
            store,
            registry,
            counters: HashMap::new(),
            counted: HashMap::new(),
        }
    }

    /// Brings every declared counter up to the store's totals.
    pub async fn refresh(&mut self) -> Result<(), crate::db::StoreError> {
        let mut jobs: HashMap<String, Vec<Job>> = HashMap::new();
        for (plan_id, job, created, errors) in runs::live_totals(&self.store).await? {
            if !jobs.contains_key(&plan_id) {
                let mut conn = self.store.pool().acquire().await?;
                let source = crate::plans::store::source_and_name(&mut conn, &plan_id)
                    .await?
                    .map(|(s, _)| s)
                    .unwrap_or_default();
                let declared = crate::plans::file::parsed::parsed(&source)
                    .map(|f| f.jobs.iter().map(|j| Job::from_spec(j.get_ref())).collect())
                    .unwrap_or_default();
                jobs.insert(plan_id.clone(), declared);
            }
            let Some((name, labels)) = jobs[&plan_id]
                .iter()
                .find(|j| j.name == job)
                .and_then(|j| j.metric.clone())
            else {
                continue;
            };
            for (status, total) in [("created", created), ("error", errors)] {
                self.count(&name, &labels, (&plan_id, &job, status), total);
            }
        }
        Ok(())
    }

    fn count(
        &mut self,
        name: &str,
        labels: &BTreeMap<String, String>,
        (plan_id, job, status): (&str, &str, &'static str),
        total: i64,
    ) {
        let keys: Vec<String> = std::iter::once("status".to_string())
            .chain(labels.keys().cloned())
            .collect();
        if !self.counters.contains_key(name) {
            let help = format!(
                "Keys processed by backfill jobs that declare metric = {name:?}, by status."
            );
            let made = IntCounterVec::new(
                Opts::new(name, help),
                &keys.iter().map(String::as_str).collect::<Vec<_>>(),
            );
            match made.and_then(|c| self.registry.register(Box::new(c.clone())).map(|_| c)) {
                Ok(c) => {
                    self.counters.insert(name.to_string(), (c, keys.clone()));
                }
                Err(e) => {
                    tracing::warn!(metric = name, error = %e, "cannot export a job's metric");
                    return;
                }
            }
        }
        let (counter, known) = &self.counters[name];
        if *known != keys {
            // Another job gave the same counter other labels: one wins.
            return;
        }
        let values: Vec<&str> = std::iter::once(status)
            .chain(labels.values().map(String::as_str))
            .collect();
        let key = (plan_id.to_string(), job.to_string(), status);
        let before = self.counted.get(&key).copied().unwrap_or(0);
        if total > before {
            counter
                .with_label_values(&values)
                .inc_by((total - before) as u64);
            self.counted.insert(key, total);
        }
    }

    /// Refreshes every five seconds for as long as the server runs.
    pub fn spawn(mut self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                if let Err(e) = self.refresh().await {
                    tracing::warn!(error = %e, "refreshing the jobs' metrics failed");
                }
            }
        });
    }
}
