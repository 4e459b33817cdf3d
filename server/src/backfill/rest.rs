//! Backfill runs over REST: start (run, dry-run, undo, verify), list, pause,
//! cancel. Progress reaches open plan pages through the plan's SSE feed.
use app::access::Action;
use app::dto::backfill::{RunView, StartRun, Tune};
use app::error::AppError;
use app::service::Caller;
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use super::error::BackfillError;
use super::manager::JobManager;
use super::runs::{self, Mode, Run};
use crate::api_error::ApiError;
use crate::auth::{actor_of, client_of};
use crate::db::Store;

/// What the backfill endpoints need of the application's state.
#[derive(Clone)]
pub struct BackfillApi {
    pub jobs: JobManager,
    pub store: Store,
}

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    BackfillApi: FromRef<S>,
{
    Router::new()
        .route("/api/v1/plans/{id}/jobs/{job}/runs", post(start))
        .route("/api/v1/plans/{id}/runs", get(list))
        .route("/api/v1/runs/{run}/pause", post(pause))
        .route("/api/v1/runs/{run}/cancel", post(cancel))
        .route("/api/v1/runs/{run}/tune", post(tune))
}

pub fn view(r: Run) -> RunView {
    RunView {
        id: r.id,
        plan_id: r.plan_id,
        job: r.job,
        mode: r.mode.as_str().to_string(),
        status: r.status.to_string(),
        last_key: r.last_key,
        processed: r.processed,
        created: r.created,
        skipped: r.skipped,
        errors: r.errors,
        chunk_size: r.chunk_size,
        max_rows_per_sec: r.max_rows_per_sec,
        total_estimate: r.total_estimate,
        result: r.result,
        started_by: r.started_by,
        started_at_ms: r.started_at_ms,
        updated_at_ms: r.updated_at_ms,
        finished_at_ms: r.finished_at_ms,
    }
}

impl From<BackfillError> for ApiError {
    fn from(e: BackfillError) -> Self {
        ApiError(super::service::app_error(e))
    }
}

/// Starts a run of the plan's job in the background (resuming its
/// unfinished run of the same mode).
#[utoipa::path(post, path = "/api/v1/plans/{id}/jobs/{job}/runs", tag = "backfill",
    params(("id" = String, Path), ("job" = String, Path)), request_body = StartRun,
    responses((status = 202, body = RunView), (status = 400), (status = 403),
        (status = 404, description = "no such plan, or no such job in it")))]
pub async fn start(
    State(state): State<BackfillApi>,
    Extension(caller): Extension<Caller>,
    Path((id, job)): Path<(String, String)>,
    Json(req): Json<StartRun>,
) -> Result<Response, ApiError> {
    let who = caller.require(Action::WritePlans)?;
    let mode = Mode::parse(req.mode.as_deref().unwrap_or("run")).map_err(AppError::Invalid)?;
    let run = state
        .jobs
        .start(
            actor_of(who),
            client_of(&caller),
            &id,
            &job,
            mode,
            req.chunk,
            req.resume_from,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view(run))).into_response())
}

#[utoipa::path(get, path = "/api/v1/plans/{id}/runs", tag = "backfill",
    params(("id" = String, Path)), responses((status = 200, body = Vec<RunView>)))]
pub async fn list(
    State(state): State<BackfillApi>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    caller.require(Action::ReadPlans)?;
    let runs = runs::of_plan(&state.store, &id)
        .await
        .map_err(BackfillError::from)?;
    Ok(Json(runs.into_iter().map(view).collect()))
}

#[utoipa::path(post, path = "/api/v1/runs/{run}/pause", tag = "backfill",
    params(("run" = String, Path)), responses((status = 202), (status = 400)))]
pub async fn pause(
    State(state): State<BackfillApi>,
    Extension(caller): Extension<Caller>,
    Path(run): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = caller.require(Action::WritePlans)?;
    state
        .jobs
        .request_stop(&actor_of(who), &client_of(&caller), &run, false)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/runs/{run}/cancel", tag = "backfill",
    params(("run" = String, Path)), responses((status = 202), (status = 400)))]
pub async fn cancel(
    State(state): State<BackfillApi>,
    Extension(caller): Extension<Caller>,
    Path(run): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = caller.require(Action::WritePlans)?;
    state
        .jobs
        .cancel(&actor_of(who), &client_of(&caller), &run)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Changes a running run's chunk size (then fixed) and/or rows/s ceiling.
#[utoipa::path(post, path = "/api/v1/runs/{run}/tune", tag = "backfill",
    params(("run" = String, Path)), request_body = Tune, responses((status = 202), (status = 400)))]
pub async fn tune(
    State(state): State<BackfillApi>,
    Extension(caller): Extension<Caller>,
    Path(run): Path<String>,
    Json(t): Json<Tune>,
) -> Result<StatusCode, ApiError> {
    let who = caller.require(Action::WritePlans)?;
    state
        .jobs
        .retune(
            &actor_of(who),
            &client_of(&caller),
            &run,
            t.chunk,
            t.max_rows_per_sec,
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}
