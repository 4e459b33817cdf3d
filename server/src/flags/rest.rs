//! Flag evaluation for applications: `GET /api/v1/flags/{key}/evaluate`.
use app::access::{Action, Principal};
use app::dto::plans::FlagEvaluation;
use app::error::AppError;
use app::service::Caller;
use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};

use super::bucketing::{evaluate as decide, Reason};
use super::cache::FlagCache;
use crate::api_error::ApiError;
use crate::caller::Call;
use crate::db::Store;

/// What the flag endpoints need of the application's state.
#[derive(Clone)]
pub struct FlagsApi {
    pub store: Store,
    pub flag_cache: FlagCache,
    /// The configured environments.
    pub environments: std::sync::Arc<Vec<String>>,
    /// OFREP's, whose evaluation counter this endpoint counts in too.
    pub ofrep: super::ofrep::OfrepApi,
}

/// The routes; `http` gives them their state with `with_state`.
pub fn router() -> Router<FlagsApi> {
    Router::new().route("/api/v1/flags/{key}/evaluate", get(evaluate))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityParam {
    /// The entity (e.g. organisation id) to evaluate for.
    #[param(min_length = 1, max_length = 256)]
    entity: String,
    /// The environment to evaluate in. A token bound to an environment may
    /// leave it out (and may name no other); everyone else must name it.
    environment: Option<String>,
}

/// Evaluates the flag for one entity: deterministic sticky bucketing, deny
/// list before allow list before percentage, kill switch before all.
/// Changes are seen within one second.
#[utoipa::path(get, path = "/api/v1/flags/{key}/evaluate", tag = "flags",
    params(("key" = String, Path), EntityParam),
    responses((status = 200, body = FlagEvaluation), (status = 400), (status = 401),
        (status = 403, description = "the token is bound to another environment"), (status = 404)))]
pub async fn evaluate(
    Call(state, caller): Call<FlagsApi>,
    Path(key): Path<String>,
    Query(q): Query<EntityParam>,
) -> Result<Json<FlagEvaluation>, ApiError> {
    caller.require(Action::ReadFlags)?;
    let entity = q.entity;
    if entity.is_empty() || entity.chars().count() > 256 {
        return Err(AppError::Invalid(
            "entity: pass ?entity=ID (1 to 256 characters), the id the flag is evaluated for"
                .into(),
        )
        .into());
    }
    let environment = environment_of(&caller, q.environment, &state.environments)?;
    let flag = state
        .flag_cache
        .flag(&state.store, &key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("flag {key:?}")))?;
    let rule = flag.rule(&environment);
    let eval = decide(&key, rule, &entity);
    state
        .ofrep
        .counted
        .with_label_values(&[&key, &environment, super::ofrep::wire::reason(eval.reason)])
        .inc();
    Ok(Json(FlagEvaluation {
        key,
        environment,
        entity,
        value: eval.value,
        reason: match eval.reason {
            Reason::Disabled => "disabled",
            Reason::Denied => "denied",
            Reason::Allowed => "allowed",
            Reason::Split => "split",
        }
        .to_string(),
        bucket: i64::from(eval.bucket),
        exposure_bp: i64::from(rule.basis_points),
    }))
}

/// The environment an evaluation names: the caller's token binding, or the
/// `environment` parameter, which must agree with it.
fn environment_of(
    caller: &Caller,
    asked: Option<String>,
    environments: &[String],
) -> Result<String, AppError> {
    let bound = match &caller.principal {
        Some(Principal::Token { environment, .. }) => environment.clone(),
        _ => None,
    };
    let unknown = |e: &str| {
        AppError::Invalid(format!(
            "environment: {e:?} is not one of {}",
            environments.join(", ")
        ))
    };
    // A name that is no environment is bad input, whoever asks; another
    // environment than a token's is not allowed.
    if let Some(a) = asked
        .as_deref()
        .filter(|a| !environments.iter().any(|e| e == a))
    {
        return Err(unknown(a));
    }
    let environment = match (asked, bound) {
        (Some(a), Some(b)) if a != b => {
            return Err(AppError::Forbidden(format!(
                "evaluate flags in {a}: this token evaluates them in {b} only"
            )))
        }
        (Some(e), _) | (None, Some(e)) => e,
        (None, None) => {
            return Err(AppError::Invalid(format!(
                "environment: pass ?environment=NAME, one of {}",
                environments.join(", ")
            )))
        }
    };
    if !environments.contains(&environment) {
        return Err(unknown(&environment));
    }
    Ok(environment)
}
