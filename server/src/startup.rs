//! Start-up: the one path from an opened, migrated store to a console ready
//! to serve, taken by `serve` and by the test harness alike: the first admin,
//! the session store and its clean-up, the application state, the
//! background work (audit walk, anchor, throttle purge, the guardrail
//! evaluator) and the backfill runs a stop interrupted.
use std::net::SocketAddr;

use crate::config::Config;
use crate::db::Store;
use crate::http::AppState;

/// A console ready to serve.
pub struct Started {
    pub state: AppState,
    /// Set when no admin existed and one was made: shown once, never logged.
    pub admin_password: Option<String>,
}

/// Why the console could not start; one line, for the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// Brings the console up over `store` (opened and migrated) for an HTTP
/// server bound at `bound`.
pub async fn start(
    store: Store,
    config: &Config,
    bound: SocketAddr,
) -> Result<Started, StartError> {
    start_with(store, config, bound, true).await
}

/// `start`, with the background work that writes to the trail (the
/// guardrail evaluator, on-call) or without it (`demo history` writes a past
/// week step by step: a reading or a page meanwhile would stamp its records
/// between the story's steps, out of their order).
pub async fn start_with(
    store: Store,
    config: &Config,
    bound: SocketAddr,
    trail_writers: bool,
) -> Result<Started, StartError> {
    let admin_password = crate::auth::bootstrap::ensure_admin(&store)
        .await
        .map_err(|e| StartError(format!("creating the first admin failed: {e}")))?;
    // Plans from before their files were kept: keep the current one.
    crate::plans::store::sources::backfill(&store)
        .await
        .map_err(|e| StartError(format!("keeping the plans' files failed: {e}")))?;
    let sessions = crate::auth::session_store::ConsoleSessionStore::open(&store)
        .await
        .map_err(|e| StartError(format!("opening the session store failed: {e}")))?;
    sessions.spawn_cleanup(std::time::Duration::from_secs(300));
    let state = AppState::new(store, sessions, config, bound).map_err(StartError)?;
    spawn_background(&state);
    state.notifier.clone().spawn();
    if trail_writers {
        evaluator(&state, config).spawn();
        crate::oncall::OnCall {
            store: state.store.clone(),
            clock: state.clock.clone(),
            events: state.events.clone(),
        }
        .spawn();
    }
    crate::jobs::job_metrics::JobMetrics::new(
        state.store.clone(),
        state.metrics.registry().clone(),
    )
    .spawn();
    match state.jobs.resume_interrupted().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            runs = n,
            "resumed backfill runs interrupted by the last stop"
        ),
        Err(e) => tracing::warn!(error = %e, "could not resume interrupted backfill runs"),
    }
    Ok(Started {
        state,
        admin_password,
    })
}

/// The guardrail evaluator of `state` (`demo history` runs its passes
/// itself, at the story's times).
pub fn evaluator(state: &AppState, config: &Config) -> crate::guardrails::evaluator::Evaluator {
    crate::guardrails::evaluator::Evaluator {
        store: state.store.clone(),
        sources: crate::guardrails::measure::Sources::new(
            config.prometheus.clone(),
            config.targets.clone(),
            &config.environments,
        ),
        clock: state.clock.clone(),
        events: state.events.clone(),
        plans: state.plans.clone(),
        passes: state.guardrail_passes.clone(),
        baselines: state.guardrail_baselines.clone(),
        in_flight: Default::default(),
    }
}

/// Work the server does beside requests: a first walk of the audit chain (so
/// the audit page's badge is ready) and forgetting old login failures.
fn spawn_background(state: &AppState) {
    // Open OFREP event streams hear of flag changes without a request.
    tokio::spawn(state.flag_cache.clone().keep_fresh(state.store.clone()));
    let audit = state.audit.clone();
    tokio::spawn(async move {
        match audit.verify().await {
            Ok(report) => tracing::info!(
                status = %report.headline(),
                events = report.events_checked,
                ms = report.duration_ms,
                "audit chain verified"
            ),
            Err(e) => tracing::warn!(error = %e, "audit chain verification could not run"),
        }
    });
    // The head anchored outside the store, about once a second (see
    // audit::anchor); a refusal is logged when it first appears.
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let mut last_problem = None;
        loop {
            tick.tick().await;
            let problem = crate::audit::anchor::checkpoint(&store).await.err();
            if let Some(p) = problem
                .as_ref()
                .filter(|p| Some(*p) != last_problem.as_ref())
            {
                tracing::error!(problem = %p, "audit anchor");
            }
            last_problem = problem;
        }
    });
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let purged = async {
                let mut conn = store.pool().acquire().await?;
                crate::auth::throttle::purge(&mut conn, crate::system::now_ms()).await
            };
            if let Err(e) = purged.await {
                tracing::warn!(error = %e, "purging old login failures failed");
            }
        }
    });
}
