//! The backfill port of the UI: a job's page (runs, counters, failing keys,
//! chart), starting and pausing runs, and the target connection test. Every
//! method authorizes first.
use app::access::Action;
use app::dto::backfill::{EnvTarget, JobView, KeyError, RunView, StartRun};
use app::error::AppError;
use app::service::{BackfillPort, Caller};

use super::manager::{JobManager, StartRequest};
use super::view::view;
use crate::auth::{actor_of, client_of};
use crate::backfill::error::BackfillError;
use crate::backfill::job::Job;
use crate::backfill::runs::{self, Mode, RunStatus};
use crate::backfill::target;
use crate::charts::progress::progress_svg;
use crate::db::Store;

#[derive(Clone)]
pub struct BackfillService {
    store: Store,
    jobs: JobManager,
}

impl BackfillService {
    pub fn new(store: Store, jobs: JobManager) -> Self {
        BackfillService { store, jobs }
    }

    async fn job_of(&self, plan_id: &str, job: &str) -> Result<(String, Job), BackfillError> {
        let (source, name) = self.jobs.plan_source(plan_id).await?;
        Ok((name, Job::find(&source, job)?))
    }
}

/// An optional text field as a form sends it: empty means not given.
fn given(field: Option<String>) -> Option<String> {
    field.filter(|f| !f.trim().is_empty())
}

/// Keys per second over the last few samples.
fn recent_rate(samples: &[(i64, i64, i64, i64)]) -> f64 {
    let window = &samples[samples.len().saturating_sub(6)..];
    match (window.first(), window.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) as f64 * 1000.0 / (b.0 - a.0) as f64,
        _ => 0.0,
    }
}

#[async_trait::async_trait]
impl BackfillPort for BackfillService {
    async fn job(
        &self,
        caller: &Caller,
        plan_id: String,
        job: String,
    ) -> Result<JobView, AppError> {
        caller.require(Action::ReadPlans)?;
        let (plan_name, spec) = self.job_of(&plan_id, &job).await?;
        let runs: Vec<_> = runs::of_plan(&self.store, &plan_id)
            .await?
            .into_iter()
            .filter(|r| r.job == spec.name)
            .collect();
        // A verify counts, it processes no keys: the failing keys and the
        // chart stay those of the newest run that did.
        let keyed = runs.iter().find(|r| r.mode != Mode::Verify);
        let (errors, samples) = match keyed {
            Some(r) => (
                runs::errors(&self.store, &r.id, 100).await?,
                runs::samples(&self.store, &r.id).await?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        let rate = match runs.first() {
            Some(r) if r.status == RunStatus::Running => recent_rate(&samples),
            _ => 0.0,
        };
        let eta_secs = runs.first().and_then(|r| {
            let total = r.total_estimate?;
            (rate > 0.0 && r.status == RunStatus::Running)
                .then(|| (total - r.processed).max(0) as f64 / rate)
        });
        let chart_svg = keyed
            .map(|r| progress_svg(&samples, r.total_estimate))
            .unwrap_or_default();
        let environment = self.jobs.suggested_environment(&plan_id).await?;
        Ok(JobView {
            plan_id,
            plan_name,
            targets: self
                .jobs
                .environments()
                .iter()
                .map(|e| EnvTarget {
                    environment: e.clone(),
                    target: spec.target_for(e).to_string(),
                })
                .collect(),
            environment,
            verify_only: spec.verify_only,
            require_dry_run: spec.require_dry_run,
            phases: spec.phases.clone(),
            job: spec.name,
            has_undo: spec.undo.is_some(),
            has_verify: spec.verify.is_some(),
            runs: runs.into_iter().map(view).collect(),
            errors: errors
                .into_iter()
                .map(|(key, error)| KeyError { key, error })
                .collect(),
            rate,
            eta_secs,
            chart_svg,
        })
    }

    async fn start(
        &self,
        caller: &Caller,
        plan_id: String,
        job: String,
        request: StartRun,
    ) -> Result<RunView, AppError> {
        let who = caller.require(Action::WritePlans)?;
        let mode = request.mode.unwrap_or(Mode::Run);
        let run = self
            .jobs
            .start(StartRequest {
                actor: actor_of(who),
                client: client_of(caller),
                plan_id,
                job,
                mode,
                chunk: request.chunk,
                resume_from: request.resume_from,
                // Empty (the job page's "current phase") is none; anything
                // else must name a configured environment.
                environment: request.environment.filter(|e| !e.is_empty()),
                override_reason: given(request.override_reason),
            })
            .await?;
        Ok(view(run))
    }

    async fn runs(&self, caller: &Caller, plan_id: String) -> Result<Vec<RunView>, AppError> {
        caller.require(Action::ReadPlans)?;
        // An unknown plan is 404, not an empty list.
        self.jobs.plan_source(&plan_id).await?;
        Ok(runs::of_plan(&self.store, &plan_id)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    async fn unfinished_runs(&self, caller: &Caller) -> Result<Vec<RunView>, AppError> {
        caller.require(Action::ReadPlans)?;
        Ok(runs::unfinished(&self.store)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    async fn pause(&self, caller: &Caller, run_id: String) -> Result<(), AppError> {
        let who = caller.require(Action::WritePlans)?;
        self.jobs
            .request_stop(&actor_of(who), &client_of(caller), &run_id, false)
            .await
            .map_err(AppError::from)
    }

    async fn cancel(&self, caller: &Caller, run_id: String) -> Result<(), AppError> {
        let who = caller.require(Action::WritePlans)?;
        self.jobs
            .cancel(&actor_of(who), &client_of(caller), &run_id)
            .await
            .map_err(AppError::from)
    }

    async fn override_window(
        &self,
        caller: &Caller,
        run_id: String,
        reason: String,
    ) -> Result<(), AppError> {
        let who = caller.require(Action::WritePlans)?;
        self.jobs
            .override_window(&actor_of(who), &client_of(caller), &run_id, &reason)
            .await
            .map_err(AppError::from)
    }

    async fn retune(
        &self,
        caller: &Caller,
        run_id: String,
        chunk: Option<i64>,
        max_rows_per_sec: Option<i64>,
    ) -> Result<(), AppError> {
        let who = caller.require(Action::WritePlans)?;
        self.jobs
            .retune(
                &actor_of(who),
                &client_of(caller),
                &run_id,
                chunk,
                max_rows_per_sec,
            )
            .await
            .map_err(AppError::from)
    }

    async fn test_target(
        &self,
        caller: &Caller,
        plan_id: String,
        job: String,
    ) -> Result<String, AppError> {
        caller.require(Action::WritePlans)?;
        let (_, spec) = self.job_of(&plan_id, &job).await?;
        target::test(self.jobs.targets(), &spec.target)
            .await
            .map_err(AppError::from)
    }
}
