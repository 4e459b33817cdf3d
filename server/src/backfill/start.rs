//! What starting a run takes: which plan's job in which mode, by whom, from
//! where, what it continues, and the plan layer's admission; and recording
//! it (`Runner::start`).
use app::error::Conflict;
use std::sync::Arc;

use serde_json::json;
use sqlx::AnyConnection;

use super::control::Control;
use super::error::BackfillError;
use super::job::Job;
use super::runner::Runner;
use super::runs::{self, Mode, Run, RunStatus};
use super::target::Target;
use crate::audit::{self, Actor, ClientInfo};
use crate::db::Store;

/// What a run asks its plan: to run `mode` for `environment`, for a job
/// that may run live only in `phases` (empty: any).
pub struct Ask<'a> {
    pub mode: Mode,
    pub environment: &'a str,
    pub phases: &'a [String],
}

/// The layer above the engine (plans) decides whether a plan still lets
/// its jobs change rows, inside the transaction that records the run, so a
/// rollback that lands first is never overtaken. An error refuses; the
/// objections it returns refuse too unless the starter overrides them with a
/// reason (audited).
#[async_trait::async_trait]
pub trait Admission: Send + Sync {
    async fn admit(
        &self,
        conn: &mut AnyConnection,
        plan_id: &str,
        ask: &Ask<'_>,
    ) -> Result<Vec<String>, BackfillError>;
}

/// What to start: which plan's job in which mode, by whom, from where, and
/// whether it continues an unfinished run.
#[derive(Clone)]
pub struct Start {
    pub plan_id: String,
    pub mode: Mode,
    pub actor: Actor,
    pub client: ClientInfo,
    /// Who drives the run: `server`, or `cli:<pid>`.
    pub owner: String,
    /// The unfinished run to continue, and whether it may be taken over
    /// although it is marked running (its driver is gone).
    pub resume: Option<(Run, bool)>,
    pub resume_from: Option<i64>,
    pub chunk: Option<i64>,
    /// Asked, for a run or dry-run, in the transaction that records it.
    pub admission: Option<Arc<dyn Admission>>,
    /// The environment the run's evidence counts for (the target is the
    /// job's target there).
    pub environment: String,
    /// Runs a live run although its plan objects (no clean dry-run, not
    /// one of the job's phases): why, in the audit trail.
    pub override_reason: Option<String>,
    /// The time a run starts at (the plans' clock: its age is evidence).
    pub clock: crate::clock::Clock,
}

impl Start {
    pub fn new(plan_id: &str, mode: Mode, actor: Actor, owner: &str) -> Start {
        Start {
            plan_id: plan_id.to_string(),
            mode,
            actor,
            client: ClientInfo::default(),
            owner: owner.to_string(),
            resume: None,
            resume_from: None,
            chunk: None,
            admission: None,
            environment: String::new(),
            override_reason: None,
            clock: crate::clock::Clock::default(),
        }
    }
}

impl Runner {
    /// Starts a new run, or claims `start.resume`, recording it with its
    /// audit event in one transaction. Refused for a plan that was rolled
    /// back or aborted (except undo and verify), for a run another process
    /// drives, and for a second unfinished run of the same job and mode.
    pub async fn start(
        store: Store,
        target: Target,
        job: Job,
        start: Start,
    ) -> Result<Runner, BackfillError> {
        let Start {
            plan_id,
            mode,
            actor,
            client,
            owner,
            resume,
            resume_from,
            chunk,
            admission,
            environment,
            override_reason,
            clock,
        } = start;
        // The job's SQL is checked before anything runs or is recorded.
        target.admit_job(&job)?;
        let now = clock.now_ms();
        let mut tx = store.begin_write().await?;
        if matches!(mode, Mode::Run | Mode::DryRun) {
            // Fail closed: a run that changes rows needs its plan's word.
            let admission = admission.ok_or_else(|| {
                BackfillError::Invalid(format!("a {} needs its plan's admission", mode.as_str()))
            })?;
            let ask = Ask {
                mode,
                environment: &environment,
                phases: &job.phases,
            };
            let mut objections = admission.admit(&mut tx, &plan_id, &ask).await?;
            // A run that continues was admitted when it started.
            if resume.is_none() {
                if mode == Mode::Run && job.require_dry_run {
                    objections.extend(
                        no_clean_dry_run(&mut tx, &plan_id, &job, (&target.name, &environment))
                            .await?,
                    );
                }
                overridden(
                    &mut tx,
                    (&actor, &client),
                    &plan_id,
                    &job.name,
                    objections,
                    override_reason.as_deref(),
                    now,
                )
                .await?;
            }
        }
        let run = match resume {
            Some((mut run, takeover)) => {
                if !runs::claim(&mut tx, &run.id, &owner, takeover).await? {
                    return Err(BackfillError::Conflict(Conflict::WrongState, format!(
                        "run {} of job {:?} is being driven by {} (its last checkpoint was {} s ago); \
                         pause it there first",
                        run.id,
                        run.job,
                        run.owner,
                        (now - run.updated_at_ms) / 1000
                    )));
                }
                if let Some(from) = resume_from {
                    run.last_key = Some(from);
                }
                if let Some(c) = chunk {
                    run.chunk_size = c;
                }
                runs::set_status(&mut tx, &run, RunStatus::Running, &run.result.clone()).await?;
                audit::append(
                    &mut tx,
                    now,
                    &actor,
                    &client,
                    "backfill.resume",
                    &format!("plan:{plan_id}"),
                    json!({ "job": job.name, "run": run.id, "mode": run.mode.as_str(), "from_key": run.last_key }),
                )
                .await?;
                run.status = RunStatus::Running;
                run.owner = owner;
                run
            }
            None => {
                let estimate = match (&job.count, mode) {
                    (Some(sql), Mode::Run | Mode::DryRun) => {
                        super::verify::scalar(&target, sql, &[resume_from.unwrap_or(i64::MIN)])
                            .await
                            .ok()
                    }
                    _ => None,
                };
                let run = Run {
                    id: uuid::Uuid::new_v4().simple().to_string(),
                    plan_id: plan_id.clone(),
                    job: job.name.clone(),
                    mode,
                    status: RunStatus::Running,
                    target: target.name.clone(),
                    environment: environment.clone(),
                    last_key: resume_from,
                    processed: 0,
                    created: 0,
                    skipped: 0,
                    errors: 0,
                    chunk_size: chunk.unwrap_or(job.chunk),
                    max_rows_per_sec: job.max_rows_per_sec,
                    total_estimate: estimate,
                    result: json!({}),
                    started_by: actor.name().to_string(),
                    owner,
                    started_at_ms: now,
                    updated_at_ms: now,
                    finished_at_ms: None,
                };
                if let Err(e) = runs::insert(&mut tx, &run).await {
                    return Err(crate::db::on_constraint(e, || {
                        BackfillError::Conflict(
                            Conflict::AlreadyExists,
                            format!(
                                "job {:?} already has an unfinished {} run; resume, pause or cancel it",
                                job.name,
                                mode.as_str()
                            ),
                        )
                    }));
                }
                audit::append(
                    &mut tx,
                    now,
                    &actor,
                    &client,
                    "backfill.start",
                    &format!("plan:{plan_id}"),
                    json!({
                        "job": job.name, "run": run.id, "mode": mode.as_str(), "target": target.name,
                        "environment": environment,
                        "from_key": resume_from, "chunk": run.chunk_size, "estimate": estimate,
                    }),
                )
                .await?;
                run
            }
        };
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        Ok(Runner {
            metrics: None,
            store,
            target,
            job,
            run,
            actor,
            client,
            control: Arc::new(Control::default()),
            clock,
            health: Default::default(),
            health_read_at: None,
            locked_since: None,
        })
    }
}

/// Why a live run lacks its clean dry-run: the newest dry-run of the job on
/// this target for this environment must have finished with no failing key.
async fn no_clean_dry_run(
    conn: &mut AnyConnection,
    plan_id: &str,
    job: &Job,
    (target, environment): (&str, &str),
) -> Result<Option<String>, BackfillError> {
    let dry = runs::newest_on(
        conn,
        plan_id,
        &job.name,
        Mode::DryRun,
        (target, environment),
    )
    .await?;
    let problem = match dry {
        None => "no dry-run yet".to_string(),
        Some(r) if r.status != RunStatus::Done => format!("its newest dry-run is {}", r.status),
        Some(r) if r.errors > 0 => format!("its newest dry-run found {} failing keys", r.errors),
        Some(_) => return Ok(None),
    };
    Ok(Some(format!(
        "job {:?} has no clean dry-run on target {target:?} for {environment}: {problem}",
        job.name
    )))
}

/// Refuses the objections unless the starter gave a reason, which is then
/// audited with them in the run's transaction.
async fn overridden(
    conn: &mut AnyConnection,
    (actor, client): (&Actor, &ClientInfo),
    plan_id: &str,
    job: &str,
    objections: Vec<String>,
    reason: Option<&str>,
    now: i64,
) -> Result<(), BackfillError> {
    if objections.is_empty() {
        return Ok(());
    }
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            BackfillError::Conflict(
                Conflict::WrongState,
                format!(
                    "{}; nothing was run (fix that first, or override with a reason)",
                    objections.join("; ")
                ),
            )
        })?;
    if reason.chars().count() > 500 {
        return Err(BackfillError::Invalid(
            "override_reason: at most 500 characters".into(),
        ));
    }
    audit::append(
        conn,
        now,
        actor,
        client,
        "backfill.override",
        &format!("plan:{plan_id}"),
        json!({ "job": job, "overrides": objections, "reason": reason }),
    )
    .await?;
    Ok(())
}
