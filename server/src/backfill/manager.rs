//! Jobs the server runs: started from the API (or the UI), each in its own
//! task; paused or cancelled on request; and, at start-up, every run that was
//! `running` when the server stopped (or died) resumed from its checkpoint.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::error::BackfillError;
use super::job::Job;
use super::metrics::BackfillMetrics;
use super::runner::{Control, Runner};
use super::runs::{self, Mode, Run};
use super::target;
use crate::audit::Actor;
use crate::config::TargetConfig;
use crate::db::Store;
use crate::events::PlanEvents;

#[derive(Clone)]
pub struct JobManager {
    store: Store,
    targets: Arc<BTreeMap<String, TargetConfig>>,
    events: PlanEvents,
    metrics: BackfillMetrics,
    active: Arc<Mutex<HashMap<String, Arc<Control>>>>,
}

impl JobManager {
    pub fn new(
        store: Store,
        targets: BTreeMap<String, TargetConfig>,
        events: PlanEvents,
        metrics: BackfillMetrics,
    ) -> Self {
        JobManager {
            store,
            targets: Arc::new(targets),
            events,
            metrics,
            active: Arc::default(),
        }
    }

    pub fn targets(&self) -> &BTreeMap<String, TargetConfig> {
        &self.targets
    }

    /// The plan's file and name.
    async fn plan_source(&self, plan_id: &str) -> Result<(String, String), BackfillError> {
        sqlx::query_as("SELECT source_toml, name FROM plans WHERE id = $1")
            .bind(plan_id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| BackfillError::Invalid(format!("plan {plan_id:?} not found")))
    }

    /// Starts a run of `job` (resuming its unfinished run of the same mode)
    /// in the background; returns the run as recorded.
    pub async fn start(
        &self,
        actor: Actor,
        plan_id: &str,
        job_name: &str,
        mode: Mode,
        chunk: Option<i64>,
        resume_from: Option<i64>,
    ) -> Result<Run, BackfillError> {
        let (source_toml, plan_name) = self.plan_source(plan_id).await?;
        let job = Job::find(&source_toml, job_name)?;
        if mode == Mode::Undo && job.undo.is_none() {
            return Err(BackfillError::Invalid(format!(
                "job {job_name:?} has no undo statement"
            )));
        }
        let open = match mode {
            Mode::Run | Mode::DryRun => {
                runs::open_run(&self.store, plan_id, job_name, mode).await?
            }
            _ => None,
        };
        if let Some(run) = &open {
            if self
                .active
                .lock()
                .map(|a| a.contains_key(&run.id))
                .unwrap_or(false)
            {
                return Err(BackfillError::Invalid(format!(
                    "run {} of job {job_name:?} is already running",
                    run.id
                )));
            }
        }
        let source = if mode == Mode::Undo {
            Some(
                runs::of_plan(&self.store, plan_id)
                    .await?
                    .into_iter()
                    .find(|r| r.job == job_name && r.mode == Mode::Run)
                    .ok_or_else(|| {
                        BackfillError::Invalid(format!("job {job_name:?} has no run to undo"))
                    })?,
            )
        } else {
            None
        };
        let target = target::connect(&self.targets, &job.target).await?;
        let runner = Runner::start(
            self.store.clone(),
            target,
            job,
            plan_id,
            mode,
            actor,
            open,
            resume_from,
            chunk,
        )
        .await?;
        let run = runner.run.clone();
        self.spawn(runner, source, plan_name);
        Ok(run)
    }

    fn spawn(&self, mut runner: Runner, undo_source: Option<Run>, plan_name: String) {
        self.metrics.state(&plan_name, &runner.job.name, "running");
        runner.metrics = Some((self.metrics.clone(), plan_name));
        let id = runner.run.id.clone();
        if let Ok(mut active) = self.active.lock() {
            active.insert(id.clone(), runner.control.clone());
        }
        let me = self.clone();
        self.events.changed(&runner.run.plan_id);
        tokio::spawn(async move {
            let plan_id = runner.run.plan_id.clone();
            let events = me.events.clone();
            // Open pages reload on each notice: at most about three a second.
            let mut last_notice = std::time::Instant::now();
            let on_chunk = move |_: &super::runner::ChunkReport| {
                if last_notice.elapsed() >= std::time::Duration::from_millis(300) {
                    last_notice = std::time::Instant::now();
                    events.changed(&plan_id);
                }
            };
            let result = match runner.run.mode {
                Mode::Undo => match &undo_source {
                    Some(source) => runner
                        .undo(source, on_chunk)
                        .await
                        .map(|o| json!(format!("{o:?}"))),
                    None => Err(BackfillError::Invalid("nothing to undo".into())),
                },
                Mode::Verify => runner.verify().await,
                Mode::Run | Mode::DryRun => {
                    runner.run(on_chunk).await.map(|o| json!(format!("{o:?}")))
                }
            };
            match result {
                Ok(outcome) => {
                    tracing::info!(run = %id, job = %runner.job.name, %outcome, "backfill run ended")
                }
                Err(e) => {
                    tracing::error!(run = %id, job = %runner.job.name, error = %e, "backfill run stopped on an error")
                }
            }
            if let Ok(mut active) = me.active.lock() {
                active.remove(&id);
            }
            runner.target.pool.close().await;
            me.events.changed(&runner.run.plan_id);
        });
    }

    /// Asks a run of this process to pause (or cancel) after its chunk.
    pub fn signal(&self, run_id: &str, cancel: bool) -> Result<(), BackfillError> {
        let active = self
            .active
            .lock()
            .map_err(|_| BackfillError::Invalid("busy".into()))?;
        let control = active.get(run_id).ok_or_else(|| {
            BackfillError::Invalid(format!("run {run_id:?} is not running on this console"))
        })?;
        if cancel {
            control.cancel();
        } else {
            control.pause();
        }
        Ok(())
    }

    /// Changes a running run's chunk size (then fixed) and/or rows/s
    /// ceiling, from its next chunk on; audited.
    pub async fn retune(
        &self,
        actor: &Actor,
        run_id: &str,
        chunk: Option<i64>,
        max_rows_per_sec: Option<i64>,
    ) -> Result<(), BackfillError> {
        if chunk.is_none() && max_rows_per_sec.is_none() {
            return Err(BackfillError::Invalid(
                "give chunk and/or max_rows_per_sec".into(),
            ));
        }
        if let Some(c) = chunk.filter(|c| !(1..=100_000).contains(c)) {
            return Err(BackfillError::Invalid(format!(
                "chunk: {c} is outside 1..=100000"
            )));
        }
        if let Some(r) = max_rows_per_sec.filter(|r| !(0..=10_000_000).contains(r)) {
            return Err(BackfillError::Invalid(format!(
                "max_rows_per_sec: {r} is outside 0..=10000000 (0 = no ceiling)"
            )));
        }
        let control = self
            .active
            .lock()
            .ok()
            .and_then(|a| a.get(run_id).cloned())
            .ok_or_else(|| {
                BackfillError::Invalid(format!("run {run_id:?} is not running on this console"))
            })?;
        let run = runs::get(&self.store, run_id)
            .await?
            .ok_or_else(|| BackfillError::Invalid(format!("run {run_id:?} not found")))?;
        let mut tx = self.store.begin_write().await?;
        crate::audit::append(
            &mut tx,
            crate::system::now_ms(),
            actor,
            &crate::audit::ClientInfo::default(),
            "backfill.tune",
            &format!("plan:{}", run.plan_id),
            json!({ "job": run.job, "run": run.id, "chunk": chunk, "max_rows_per_sec": max_rows_per_sec }),
        )
        .await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        control.retune(chunk, max_rows_per_sec);
        Ok(())
    }

    /// Start-up: resumes every run left `running` (the server stopped or died
    /// mid-run) from its checkpoint. A chunk that committed on the target but
    /// not in the checkpoint is applied again: the apply is idempotent.
    pub async fn resume_interrupted(&self) -> Result<usize, BackfillError> {
        let mut resumed = 0;
        for run in runs::running(&self.store).await? {
            if !matches!(run.mode, Mode::Run | Mode::DryRun) {
                continue;
            }
            let found = self
                .plan_source(&run.plan_id)
                .await
                .and_then(|(s, name)| Ok((Job::find(&s, &run.job)?, name)));
            let (job, plan_name) = match found {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "cannot resume backfill run");
                    continue;
                }
            };
            let target = match target::connect(&self.targets, &job.target).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "cannot resume backfill run");
                    continue;
                }
            };
            let plan_id = run.plan_id.clone();
            let mode = run.mode;
            let runner = Runner::start(
                self.store.clone(),
                target,
                job,
                &plan_id,
                mode,
                Actor::System,
                Some(run),
                None,
                None,
            )
            .await?;
            tracing::info!(run = %runner.run.id, job = %runner.job.name, last_key = ?runner.run.last_key, "resuming backfill run after restart");
            self.spawn(runner, None, plan_name);
            resumed += 1;
        }
        Ok(resumed)
    }
}
