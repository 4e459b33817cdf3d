//! Rollout plans over REST (`/api/v1/plans…`), and the live feed of a plan's
//! changes (SSE) that open plan pages listen to.
use std::convert::Infallible;
use std::time::Duration;

use app::access::Action;
use app::dto::plans::{CommandOutcome, NewPlan, PlanCommand, PlanSummary, PlanView, TemplateInfo};
use app::service::PlanPort;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use crate::api_error::ApiError;
use crate::auth::AuthState;
use crate::caller::Call;
use crate::events::PlanEvents;
use crate::json_body::JsonObject;
use crate::plans::PlanService;

/// What the plan endpoints need of the application's state.
#[derive(Clone)]
pub struct PlansApi {
    pub plans: PlanService,
    pub events: PlanEvents,
    pub auth: AuthState,
}

/// The routes; `http` gives them their state with `with_state`.
pub fn router() -> Router<PlansApi> {
    Router::new()
        .route("/api/v1/plans", get(list).post(import))
        .route("/api/v1/plans/from-template", post(create))
        .route("/api/v1/plans/{id}", get(one))
        .route("/api/v1/plans/{id}/source", get(source).put(save_source))
        .route("/api/v1/plans/{id}/sources", get(sources))
        .route("/api/v1/plans/{id}/sources/{sha256}", get(source_version))
        .route("/api/v1/plans/{id}/commands", post(command))
        .route("/api/v1/plans/{id}/events", get(events))
        .route("/api/v1/plans/{id}/timeline", get(timeline))
        .route("/api/v1/templates", get(templates))
}

#[utoipa::path(get, path = "/api/v1/plans", tag = "plans",
    responses((status = 200, body = Vec<PlanSummary>), (status = 401), (status = 403)))]
pub async fn list(Call(state, caller): Call<PlansApi>) -> Result<Json<Vec<PlanSummary>>, ApiError> {
    Ok(Json(state.plans.plans(&caller).await?))
}

/// Imports a plan file (TOML, see docs/plan-format.md) as a new draft plan.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans",
    request_body(content = String, content_type = "application/toml"),
    responses((status = 201, body = PlanSummary), (status = 400, description = "every problem as LINE:COLUMN: field: message"),
        (status = 409, description = "`already_exists`: a plan of that name, or owning that flag, exists")))]
pub async fn import(
    Call(state, caller): Call<PlansApi>,
    body: String,
) -> Result<Response, ApiError> {
    let plan = state.plans.import(&caller, body).await?;
    Ok((axum::http::StatusCode::CREATED, Json(plan)).into_response())
}

/// A new draft plan from a built-in template (see `/api/v1/templates`).
#[utoipa::path(post, path = "/api/v1/plans/from-template", tag = "plans",
    request_body = NewPlan, responses((status = 201, body = PlanSummary), (status = 400),
        (status = 409, description = "`already_exists`: a plan of that name, or owning that flag, exists")))]
pub async fn create(
    Call(state, caller): Call<PlansApi>,
    JsonObject(new): JsonObject<NewPlan>,
) -> Result<Response, ApiError> {
    let plan = state.plans.create(&caller, new).await?;
    Ok((axum::http::StatusCode::CREATED, Json(plan)).into_response())
}

#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = String, Path)), responses((status = 200, body = PlanView), (status = 404)))]
pub async fn one(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
) -> Result<Json<PlanView>, ApiError> {
    Ok(Json(state.plans.plan(&caller, id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// The last this many hours (1 to 2160); without it, the plan's whole life.
    #[param(minimum = 1, maximum = 2160)]
    hours: Option<i64>,
}

/// The plan's timeline: exposure per environment, guardrail readings against
/// their bounds and the markers (SVG), with the audit events of the range.
#[utoipa::path(get, path = "/api/v1/plans/{id}/timeline", tag = "plans",
    params(("id" = String, Path), TimelineParams),
    responses((status = 200, body = app::dto::plans::TimelineView), (status = 400), (status = 404)))]
pub async fn timeline(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
    Query(q): Query<TimelineParams>,
) -> Result<Json<app::dto::plans::TimelineView>, ApiError> {
    Ok(Json(state.plans.timeline(&caller, id, q.hours).await?))
}

/// The plan file exactly as imported or last saved; its revision is in the
/// `X-Plan-Revision` header.
#[utoipa::path(get, path = "/api/v1/plans/{id}/source", tag = "plans",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/toml", body = String), (status = 404)))]
pub async fn source(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let src = state.plans.source(&caller, id).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_string(),
            ),
            (
                header::HeaderName::from_static("x-plan-revision"),
                src.revision.to_string(),
            ),
        ],
        src.source,
    )
        .into_response())
}

/// Every version the plan file has had (imported, saved, or proposed by a
/// change request), oldest first, each by the SHA-256 its audit events name.
#[utoipa::path(get, path = "/api/v1/plans/{id}/sources", tag = "plans",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<app::dto::plans::PlanSourceVersion>), (status = 404)))]
pub async fn sources(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
) -> Result<Json<Vec<app::dto::plans::PlanSourceVersion>>, ApiError> {
    Ok(Json(state.plans.source_versions(&caller, &id).await?))
}

/// One version of the plan file, exactly as it was, by its SHA-256 (or a
/// prefix of 12 or more hex digits that names one).
#[utoipa::path(get, path = "/api/v1/plans/{id}/sources/{sha256}", tag = "plans",
    params(("id" = String, Path), ("sha256" = String, Path)),
    responses((status = 200, content_type = "application/toml", body = String), (status = 404)))]
pub async fn source_version(
    Call(state, caller): Call<PlansApi>,
    Path((id, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let text = state.plans.source_version(&caller, &id, &sha256).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
        text,
    )
        .into_response())
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevisionParam {
    /// The revision the new source was edited from (`X-Plan-Revision`).
    revision: i64,
}

/// Replaces the plan's definition. Started phases keep their history; an
/// edit that would rewrite it is refused, as is one from a stale revision.
/// On a plan that is not a draft, an edit that weakens a gate is recorded as
/// a change request (202, `pending_change` names it) and applies only once
/// approved.
#[utoipa::path(put, path = "/api/v1/plans/{id}/source", tag = "plans",
    params(("id" = String, Path), RevisionParam),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = PlanSummary, description = "applied"),
        (status = 202, body = PlanSummary, description = "it weakens a gate: a change request now waits for approval"),
        (status = 400), (status = 404),
        (status = 409, description = "`stale_revision`: the plan changed since that revision; \
            `wrong_state`: its history does not allow the edit (a final plan, a started phase removed); \
            `already_exists`: the new name or flag is another plan's")))]
pub async fn save_source(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
    Query(q): Query<RevisionParam>,
    body: String,
) -> Result<Response, ApiError> {
    let summary = state
        .plans
        .save_source(&caller, id, body, q.revision)
        .await?;
    let status = if summary.pending_change.is_some() {
        axum::http::StatusCode::ACCEPTED
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, Json(summary)).into_response())
}

/// Runs a command on the plan: start a phase, tick, request approval,
/// approve or reject, override, complete, roll back.
#[utoipa::path(post, path = "/api/v1/plans/{id}/commands", tag = "plans",
    params(("id" = String, Path)), request_body = PlanCommand,
    responses((status = 200, body = CommandOutcome), (status = 400), (status = 403),
        (status = 409, description = "`wrong_state`: the plan's state does not allow it now (the message says what must \
            happen first); `stale_revision`: the phase changed since the caller read its evidence, or the phase, \
            item, change request or guardrail it names is not in the plan as it stands; \
            `already_exists`: the caller already decided; `not_confirmed`: a rollback's or completion's typed \
            plan name does not match")))]
pub async fn command(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
    JsonObject(cmd): JsonObject<PlanCommand>,
) -> Result<Json<CommandOutcome>, ApiError> {
    Ok(Json(state.plans.command(&caller, id, cmd).await?))
}

#[utoipa::path(get, path = "/api/v1/templates", tag = "plans",
    responses((status = 200, body = Vec<TemplateInfo>)))]
pub async fn templates(
    Call(state, caller): Call<PlansApi>,
) -> Result<Json<Vec<TemplateInfo>>, ApiError> {
    Ok(Json(state.plans.templates(&caller).await?))
}

/// How often an open event stream checks that its caller may still listen.
const STILL_ALLOWED_EVERY: Duration = Duration::from_secs(2);

/// Server-sent events: `changed` each time the plan changes (its new
/// revision is in the data), so an open page can reload its view.
#[utoipa::path(get, path = "/api/v1/plans/{id}/events", tag = "plans",
    params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", body = String)))]
pub async fn events(
    Call(state, caller): Call<PlansApi>,
    Extension(session): Extension<tower_sessions::Session>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let principal = caller.require(Action::ReadPlans)?.clone();
    // 404 for a plan that does not exist, rather than a silent stream.
    state.plans.plan(&caller, id.clone()).await?;
    let rx = state.events.subscribe();
    // The stream ends when its session or user (or token) does: a person
    // signed out or disabled stops receiving at the next check.
    let tick = tokio::time::interval(STILL_ALLOWED_EVERY);
    let open = (rx, id, tick, state, principal, session);
    let stream = stream::unfold(
        open,
        |(mut rx, id, mut tick, state, principal, session)| async move {
            loop {
                tokio::select! {
                    received = rx.recv() => match received {
                        Ok(changed) if changed == id => break,
                        Ok(_) => continue,
                        // Missed some: reloading once covers them all.
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return None,
                    },
                    _ = tick.tick() => {
                        if !crate::auth::middleware::still_allowed(&state.auth, &principal, &session).await {
                            return None;
                        }
                    }
                }
            }
            Some((
                Ok(Event::default().event("changed").data(id.clone())),
                (rx, id, tick, state, principal, session),
            ))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
