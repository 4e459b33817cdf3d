//! Jobs the server runs: started from the API (or the UI), each in its own
//! task; paused or cancelled on request; and, at start-up, every run that was
//! `running` when the server stopped (or died) resumed from its checkpoint.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::json;
use sqlx::AnyConnection;

use super::placement::Where;
use crate::audit::{Actor, ClientInfo};
use crate::backfill::control::Control;
use crate::backfill::error::BackfillError;
use crate::backfill::job::Job;
use crate::backfill::metrics::BackfillMetrics;
use crate::backfill::runner::Runner;
use crate::backfill::runs::{self, Mode, Run, RunStatus};
use crate::backfill::start::Start;
use crate::backfill::target;
use crate::config::TargetConfig;
use crate::db::Store;
use crate::events::PlanEvents;
use crate::plans::admission::PlanAdmission;

/// The owner of runs the server drives (one server per console store).
pub const SERVER_OWNER: &str = "server";

/// What a person (or a token) asks to start.
pub struct StartRequest {
    pub actor: Actor,
    pub client: ClientInfo,
    pub plan_id: String,
    pub job: String,
    pub mode: Mode,
    pub chunk: Option<i64>,
    pub resume_from: Option<i64>,
    /// The environment the run is for (default: the plan's current one).
    pub environment: Option<String>,
    /// Why a live run goes ahead although its plan objects.
    pub override_reason: Option<String>,
}

/// A run recorded and ready to drive, with what it needs to finish.
pub struct Prepared {
    pub runner: Runner,
    /// For an undo: the runs whose rows it removes.
    pub undo_sources: Option<Vec<Run>>,
    pub plan_name: String,
    /// It continues an unfinished run.
    pub resumed: bool,
}

#[derive(Clone)]
pub struct JobManager {
    pub(super) store: Store,
    targets: Arc<BTreeMap<String, TargetConfig>>,
    environments: Arc<Vec<String>>,
    clock: crate::clock::Clock,
    pub(super) events: PlanEvents,
    metrics: BackfillMetrics,
    active: Arc<Mutex<HashMap<String, Arc<Control>>>>,
}

impl JobManager {
    /// The job manager as the configuration says — its targets and
    /// environments — the one construction the server and the CLI share
    /// (the server adds its clock, `with_clock`).
    pub fn from_config(
        store: Store,
        config: &crate::config::Config,
        events: PlanEvents,
        metrics: BackfillMetrics,
    ) -> Self {
        JobManager::new(store, config.targets.clone(), events, metrics)
            .with_environments(config.environments.clone())
    }

    pub fn new(
        store: Store,
        targets: BTreeMap<String, TargetConfig>,
        events: PlanEvents,
        metrics: BackfillMetrics,
    ) -> Self {
        JobManager {
            store,
            targets: Arc::new(targets),
            environments: Arc::new(
                crate::config::DEFAULT_ENVIRONMENTS
                    .map(String::from)
                    .to_vec(),
            ),
            clock: crate::clock::Clock::default(),
            events,
            metrics,
            active: Arc::default(),
        }
    }

    /// The same manager over the configured environments.
    pub fn with_environments(mut self, environments: Vec<String>) -> Self {
        self.environments = Arc::new(environments);
        self
    }

    /// The same manager on `clock` (the plans' clock: runs are evidence).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The configured environments, in promotion order.
    pub fn environments(&self) -> &[String] {
        &self.environments
    }

    pub fn targets(&self) -> &BTreeMap<String, TargetConfig> {
        &self.targets
    }

    /// The plan's file and name.
    pub async fn plan_source(&self, plan_id: &str) -> Result<(String, String), BackfillError> {
        let mut conn = self.store.pool().acquire().await?;
        crate::plans::store::source_and_name(&mut conn, plan_id)
            .await?
            .ok_or_else(|| BackfillError::NotFound(format!("plan {plan_id:?}")))
    }

    /// Starts a run of `job` (resuming its unfinished run of the same mode)
    /// in the background; returns the run as recorded.
    pub async fn start(&self, request: StartRequest) -> Result<Run, BackfillError> {
        let prepared = self.prepare(request, SERVER_OWNER, false).await?;
        let run = prepared.runner.run.clone();
        self.spawn(prepared.runner, prepared.undo_sources, prepared.plan_name);
        Ok(run)
    }

    /// Everything a start checks and records, for whoever drives the run:
    /// the server (`start`) or a command line in the foreground. A run
    /// marked running is taken over only when `take_over_silent` and its
    /// driver went silent.
    pub async fn prepare(
        &self,
        request: StartRequest,
        owner: &str,
        take_over_silent: bool,
    ) -> Result<Prepared, BackfillError> {
        let StartRequest {
            actor,
            client,
            plan_id,
            job: job_name,
            mode,
            chunk,
            resume_from,
            environment,
            override_reason,
        } = request;
        crate::backfill::pace::check_chunk(chunk).map_err(BackfillError::Invalid)?;
        let (source_toml, plan_name) = self.plan_source(&plan_id).await?;
        let job = Job::find(&source_toml, &job_name)?;
        if job.verify_only && mode != Mode::Verify {
            return Err(BackfillError::Invalid(format!(
                "job {job_name:?} is verify-only (it has no apply): start a verify"
            )));
        }
        if mode == Mode::Undo && job.undo.is_none() {
            return Err(BackfillError::Invalid(format!(
                "job {job_name:?} has no undo statement"
            )));
        }
        let open = match mode {
            Mode::Run | Mode::DryRun => {
                runs::open_run(&self.store, &plan_id, &job.name, mode).await?
            }
            _ => None,
        };
        let (environment, target_name) = self
            .place()
            .of(&plan_id, &job, mode, environment, open.as_ref())
            .await?;
        let undo_sources = if mode == Mode::Undo {
            let place = (target_name.as_str(), environment.as_str());
            Some(crate::backfill::undo::sources(&self.store, &plan_id, &job.name, place).await?)
        } else {
            None
        };
        let target = target::connect(&self.targets, &target_name).await?;
        let resume = open.map(|r| {
            let silent = crate::system::now_ms() - r.updated_at_ms > runs::STALE_MS;
            (r, take_over_silent && silent)
        });
        let start = Start {
            client,
            resume,
            resume_from,
            chunk,
            admission: Some(Arc::new(PlanAdmission)),
            environment,
            override_reason,
            clock: self.clock.clone(),
            ..Start::new(&plan_id, mode, actor, owner)
        };
        let resumed = start.resume.is_some();
        let runner = Runner::start(self.store.clone(), target, job, start).await?;
        Ok(Prepared {
            runner,
            undo_sources,
            plan_name,
            resumed,
        })
    }

    /// The environment the job page offers first (see
    /// `plans::admission::next_step_environment`).
    pub async fn suggested_environment(&self, plan_id: &str) -> Result<String, BackfillError> {
        let mut conn = self.store.pool().acquire().await?;
        crate::plans::admission::next_step_environment(&mut conn, plan_id)
            .await?
            .ok_or_else(|| BackfillError::NotFound(format!("plan {plan_id:?}")))
    }

    fn place(&self) -> Where<'_> {
        Where {
            store: &self.store,
            environments: &self.environments,
            targets: &self.targets,
        }
    }

    fn spawn(&self, mut runner: Runner, undo_sources: Option<Vec<Run>>, plan_name: String) {
        self.metrics
            .state(&plan_name, &runner.job.name, RunStatus::Running);
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
            let on_chunk = move |_: &crate::backfill::runner::ChunkReport| {
                if last_notice.elapsed() >= std::time::Duration::from_millis(300) {
                    last_notice = std::time::Instant::now();
                    events.changed(&plan_id);
                }
            };
            let result = match runner.run.mode {
                Mode::Undo => match &undo_sources {
                    Some(sources) => runner
                        .undo(sources, on_chunk)
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
                    tracing::error!(run = %id, job = %runner.job.name, error = %e, "backfill run stopped on an error");
                    let reason = json!({ "reason": e.to_string() });
                    if let Err(e) = runner.fail(reason).await {
                        tracing::error!(run = %id, error = %e, "could not mark the run failed");
                    }
                }
            }
            if let Ok(mut active) = me.active.lock() {
                active.remove(&id);
            }
            runner.target.close().await;
            me.events.changed(&runner.run.plan_id);
        });
    }

    /// Asks a run of this process to pause (or cancel) after its chunk.
    pub fn signal(&self, run_id: &str, cancel: bool) -> Result<(), BackfillError> {
        let active = self
            .active
            .lock()
            .map_err(|_| BackfillError::Invalid("busy".into()))?;
        let control = active.get(run_id).ok_or_else(|| not_running_here(run_id))?;
        if cancel {
            control.cancel();
        } else {
            control.pause();
        }
        Ok(())
    }

    /// A person asks a run of this process to pause (or cancel) after its
    /// chunk: signalled, and audited with who asked from where (the run's
    /// own `backfill.pause` / `backfill.cancel` event names who started it).
    pub async fn request_stop(
        &self,
        actor: &Actor,
        client: &ClientInfo,
        run_id: &str,
        cancel: bool,
    ) -> Result<(), BackfillError> {
        let run = runs::get(&self.store, run_id)
            .await?
            .ok_or_else(|| BackfillError::NotFound(format!("run {run_id:?}")))?;
        self.signal(run_id, cancel)?;
        let action = if cancel {
            "backfill.cancel_request"
        } else {
            "backfill.pause_request"
        };
        let mut tx = self.store.begin_write().await?;
        run_event(&mut tx, actor, client, action, &run, json!({})).await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        Ok(())
    }

    /// Cancels a run: signals it when this console drives it, or ends it at
    /// once when it is paused (so an undo can follow, e.g. after an
    /// emergency rollback paused it). Audited.
    pub async fn cancel(
        &self,
        actor: &Actor,
        client: &ClientInfo,
        run_id: &str,
    ) -> Result<(), BackfillError> {
        if self.active.lock().is_ok_and(|a| a.contains_key(run_id)) {
            return self.request_stop(actor, client, run_id, true).await;
        }
        let run = runs::get(&self.store, run_id)
            .await?
            .ok_or_else(|| BackfillError::NotFound(format!("run {run_id:?}")))?;
        let silent = run.status == RunStatus::Running
            && crate::system::now_ms() - run.updated_at_ms > runs::STALE_MS;
        if run.status != RunStatus::Paused && !silent {
            return Err(BackfillError::Conflict(
                app::error::Conflict::WrongState,
                format!(
                    "run {run_id:?} is {} (driven by {}); only a paused run, or one whose driver \
                 went silent, can be cancelled from here",
                    run.status, run.owner
                ),
            ));
        }
        let mut tx = self.store.begin_write().await?;
        runs::set_status(
            &mut tx,
            &run,
            RunStatus::Cancelled,
            &json!({ "reason": "cancelled while paused" }),
        )
        .await?;
        let last_key = json!({ "last_key": run.last_key });
        run_event(&mut tx, actor, client, "backfill.cancel", &run, last_key).await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        self.events.changed(&run.plan_id);
        Ok(())
    }

    /// Changes a running run's chunk size (then fixed) and/or rows/s
    /// ceiling, from its next chunk on; audited.
    pub async fn retune(
        &self,
        actor: &Actor,
        client: &ClientInfo,
        run_id: &str,
        chunk: Option<i64>,
        max_rows_per_sec: Option<i64>,
    ) -> Result<(), BackfillError> {
        if chunk.is_none() && max_rows_per_sec.is_none() {
            return Err(BackfillError::Invalid(
                "give chunk and/or max_rows_per_sec".into(),
            ));
        }
        crate::backfill::pace::check_chunk(chunk).map_err(BackfillError::Invalid)?;
        crate::backfill::pace::check_rate(max_rows_per_sec).map_err(BackfillError::Invalid)?;
        let run = runs::get(&self.store, run_id)
            .await?
            .ok_or_else(|| BackfillError::NotFound(format!("run {run_id:?}")))?;
        let control = self
            .active
            .lock()
            .ok()
            .and_then(|a| a.get(run_id).cloned())
            .ok_or_else(|| not_running_here(run_id))?;
        let mut tx = self.store.begin_write().await?;
        let pace = json!({ "chunk": chunk, "max_rows_per_sec": max_rows_per_sec });
        run_event(&mut tx, actor, client, "backfill.tune", &run, pace).await?;
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
                // An undo or verify this server drove is not resumed: it ends
                // as failed (run it again), so it does not block the next one.
                if run.owner == SERVER_OWNER {
                    let mut tx = self.store.begin_write().await?;
                    let reason = json!({ "reason": "interrupted by a restart; run it again" });
                    runs::set_status(&mut tx, &run, RunStatus::Failed, &reason).await?;
                    let (actor, client) = (Actor::System, ClientInfo::default());
                    let result = json!({ "result": reason });
                    run_event(&mut tx, &actor, &client, "backfill.fail", &run, result).await?;
                    tx.commit().await.map_err(crate::db::StoreError::Query)?;
                }
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
            let target_name = match run.target.as_str() {
                "" => job.target_for(&run.environment),
                recorded => recorded,
            };
            let target = match target::connect(&self.targets, target_name).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "cannot resume backfill run");
                    continue;
                }
            };
            // A run this server drove before it stopped is ours again; one a
            // command line drives is only taken over when it went silent.
            let takeover = run.owner == SERVER_OWNER
                || crate::system::now_ms() - run.updated_at_ms > runs::STALE_MS;
            if !takeover {
                continue;
            }
            let start = Start {
                resume: Some((run.clone(), true)),
                admission: Some(Arc::new(PlanAdmission)),
                environment: run.environment.clone(),
                ..Start::new(&run.plan_id, run.mode, Actor::System, SERVER_OWNER)
            };
            let runner = match Runner::start(self.store.clone(), target, job, start).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "cannot resume backfill run");
                    continue;
                }
            };
            tracing::info!(run = %runner.run.id, job = %runner.job.name, last_key = ?runner.run.last_key, "resuming backfill run after restart");
            self.spawn(runner, None, plan_name);
            resumed += 1;
        }
        Ok(resumed)
    }
}

/// The audit event of an action on a run: its job, id and mode, and `extra`.
pub(super) async fn run_event(
    tx: &mut AnyConnection,
    actor: &Actor,
    client: &ClientInfo,
    action: &str,
    run: &Run,
    extra: serde_json::Value,
) -> Result<(), BackfillError> {
    let mut details = json!({ "job": run.job, "run": run.id, "mode": run.mode.as_str() });
    if let (Some(d), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra) {
        d.extend(extra);
    }
    let subject = format!("plan:{}", run.plan_id);
    let now = crate::system::now_ms();
    crate::audit::append(tx, now, actor, client, action, &subject, details).await?;
    Ok(())
}

/// A run that exists but that this process does not drive (paused, done, or
/// driven by another process): its state must change first.
fn not_running_here(run_id: &str) -> BackfillError {
    BackfillError::Conflict(
        app::error::Conflict::WrongState,
        format!("run {run_id:?} is not running on this console"),
    )
}
