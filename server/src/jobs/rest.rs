//! Backfill runs over REST: start (run, dry-run, undo, verify), list, pause,
//! cancel. Progress reaches open plan pages through the plan's SSE feed.
use std::sync::Arc;

use app::dto::backfill::{RunView, StartRun, Tune, WindowOverride};
use app::service::BackfillPort;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::service::BackfillService;
use crate::api_error::ApiError;
use crate::caller::Call;
use crate::json_body::JsonObject;

/// What the backfill endpoints need of the application's state: the same
/// service the UI's server functions call, which authorizes.
#[derive(Clone)]
pub struct BackfillApi {
    pub backfill: Arc<BackfillService>,
}

/// The routes; `http` gives them their state with `with_state`.
pub fn router() -> Router<BackfillApi> {
    Router::new()
        .route("/api/v1/plans/{id}/jobs/{job}/runs", post(start))
        .route("/api/v1/plans/{id}/runs", get(list))
        .route("/api/v1/runs/{run}/pause", post(pause))
        .route("/api/v1/runs/{run}/cancel", post(cancel))
        .route("/api/v1/runs/{run}/tune", post(tune))
        .route("/api/v1/runs/{run}/window-override", post(override_window))
}

/// Starts a run of the plan's job in the background (resuming its
/// unfinished run of the same mode).
#[utoipa::path(post, path = "/api/v1/plans/{id}/jobs/{job}/runs", tag = "backfill",
    params(("id" = String, Path), ("job" = String, Path)), request_body = StartRun,
    responses((status = 202, body = RunView), (status = 400), (status = 403),
        (status = 404, description = "no such plan, or no such job in it"),
        (status = 409, description = "`wrong_state`: another process drives the job's unfinished run, it runs \
            in another environment, the job has objections (no clean dry-run, another phase's environment) and no \
            override reason was given, or an undo meets an unfinished run or nothing to undo; `already_exists`: the job has an unfinished run of that mode"),
        (status = 503, description = "the job's target database does not answer")))]
pub async fn start(
    Call(state, caller): Call<BackfillApi>,
    Path((id, job)): Path<(String, String)>,
    JsonObject(req): JsonObject<StartRun>,
) -> Result<Response, ApiError> {
    let run = state.backfill.start(&caller, id, job, req).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

#[utoipa::path(get, path = "/api/v1/plans/{id}/runs", tag = "backfill",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<RunView>), (status = 404, description = "no such plan")))]
pub async fn list(
    Call(state, caller): Call<BackfillApi>,
    Path(id): Path<String>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    Ok(Json(state.backfill.runs(&caller, id).await?))
}

#[utoipa::path(post, path = "/api/v1/runs/{run}/pause", tag = "backfill",
    params(("run" = String, Path)), responses((status = 202), (status = 400), (status = 404),
        (status = 409, description = "`wrong_state`: the run is not running on this console (paused, finished, or driven by another process)")))]
pub async fn pause(
    Call(state, caller): Call<BackfillApi>,
    Path(run): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.backfill.pause(&caller, run).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/runs/{run}/cancel", tag = "backfill",
    params(("run" = String, Path)), responses((status = 202), (status = 400), (status = 404),
        (status = 409, description = "`wrong_state`: only a paused run, or one whose driver went silent, can be cancelled here")))]
pub async fn cancel(
    Call(state, caller): Call<BackfillApi>,
    Path(run): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.backfill.cancel(&caller, run).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Changes a running run's chunk size (then fixed) and/or rows/s ceiling.
#[utoipa::path(post, path = "/api/v1/runs/{run}/tune", tag = "backfill",
    params(("run" = String, Path)), request_body = Tune, responses((status = 202), (status = 400), (status = 404),
        (status = 409, description = "`wrong_state`: the run is not running on this console (paused, finished, or driven by another process)")))]
pub async fn tune(
    Call(state, caller): Call<BackfillApi>,
    Path(run): Path<String>,
    JsonObject(t): JsonObject<Tune>,
) -> Result<StatusCode, ApiError> {
    state
        .backfill
        .retune(&caller, run, t.chunk, t.max_rows_per_sec)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Lets a run waiting outside its job's window go on now; the reason is
/// audited (`backfill.window_override`).
#[utoipa::path(post, path = "/api/v1/runs/{run}/window-override", tag = "backfill",
    params(("run" = String, Path)), request_body = WindowOverride,
    responses((status = 202), (status = 400, description = "no reason, or one over 500 characters"), (status = 403), (status = 404),
        (status = 409, description = "`wrong_state`: the run is not running, or its job has no window")))]
pub async fn override_window(
    Call(state, caller): Call<BackfillApi>,
    Path(run): Path<String>,
    JsonObject(o): JsonObject<WindowOverride>,
) -> Result<StatusCode, ApiError> {
    state
        .backfill
        .override_window(&caller, run, o.reason)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
