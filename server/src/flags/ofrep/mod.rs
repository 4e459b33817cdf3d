//! The OpenFeature Remote Evaluation Protocol (OFREP 0.3.0), so that any
//! OpenFeature SDK reads a plan's flag with its stock OFREP provider:
//!
//! - `POST /ofrep/v1/evaluate/flags/{key}`: one flag for a context;
//! - `POST /ofrep/v1/evaluate/flags`: every flag for a context, with an
//!   `ETag` (`If-None-Match` answers 304) and an `eventStreams` entry;
//! - `GET /ofrep/v1/events`: that stream (SSE), `refetchEvaluation` when the
//!   environment's flags change.
//!
//! Only `flags:read` tokens evaluate (`Authorization: Bearer` or
//! `X-API-Key`), each within its rate limit, in the environment it is bound
//! to. These routes sit outside the console's sessions and CSRF check (no
//! cookie counts here) and allow browsers from `[ofrep] cors_origins`.
//! The bucketing is the evaluate endpoint's, so both agree on every entity.
mod access;
mod answers;
mod events;
pub mod limit;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use sha2::{Digest, Sha256};

use self::access::Reader;
use self::answers::{Answers, One};
use self::wire::ErrorCode;
use super::cache::FlagCache;
use crate::db::Store;

/// What the OFREP routes need.
#[derive(Clone)]
pub struct OfrepApi {
    pub store: Store,
    pub flags: FlagCache,
    /// The configured environments.
    pub environments: Arc<Vec<String>>,
    pub limiter: Arc<limit::Limiter>,
    /// Evaluations by flag, environment and reason.
    pub counted: prometheus::IntCounterVec,
    /// `public_url`'s origin, for the event stream's address.
    pub public_origin: Option<String>,
    /// Each environment's prepared answers, as of the latest snapshot.
    pub answers: Arc<Mutex<HashMap<String, Arc<Answers>>>>,
}

impl OfrepApi {
    /// The answers in `environment` as of the flags now.
    async fn answers(&self, environment: &str) -> Result<Arc<Answers>, Response> {
        let snapshot = self.flags.snapshot(&self.store).await.map_err(internal)?;
        let kept = self
            .answers
            .lock()
            .ok()
            .and_then(|a| a.get(environment).cloned())
            .filter(|a| a.of(&snapshot));
        if let Some(a) = kept {
            return Ok(a);
        }
        let made = Arc::new(Answers::new(snapshot, environment));
        if let Ok(mut a) = self.answers.lock() {
            a.insert(environment.to_string(), made.clone());
        }
        Ok(made)
    }
}

/// The metric every evaluation is counted in (also the evaluate endpoint's).
pub fn register_counter(
    registry: &prometheus::Registry,
) -> Result<prometheus::IntCounterVec, prometheus::Error> {
    let counter = prometheus::IntCounterVec::new(
        prometheus::Opts::new(
            "flag_evaluations_total",
            "Flag evaluations answered, by flag, environment and OFREP reason (flag \"(unknown)\" for keys no plan owns).",
        ),
        &["flag", "environment", "reason"],
    )?;
    registry.register(Box::new(counter.clone()))?;
    Ok(counter)
}

/// The routes, with CORS for `cors_origins`.
pub fn router(cors_origins: &[String]) -> Router<OfrepApi> {
    let origins: Vec<HeaderValue> = cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([header::ETAG, header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600));
    Router::new()
        .route("/ofrep/v1/evaluate/flags/{key}", post(one))
        .route("/ofrep/v1/evaluate/flags", post(bulk))
        .route("/ofrep/v1/events", get(events::stream))
        .route("/ofrep/{*rest}", axum::routing::any(not_here))
        .layer(cors)
}

/// A JSON answer (every OFREP answer but 304 is one).
fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn refused(r: wire::Refusal, key: Option<&str>) -> Response {
    answer(
        StatusCode::BAD_REQUEST,
        wire::failure(key, r.code, &r.details),
    )
}

async fn not_here() -> Response {
    answer(
        StatusCode::NOT_FOUND,
        wire::general("no such OFREP endpoint: POST /ofrep/v1/evaluate/flags/{key} or /ofrep/v1/evaluate/flags"),
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "evaluating flags over OFREP failed");
    answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        wire::general("the flags could not be read; the cause has been logged"),
    )
}

/// `POST /ofrep/v1/evaluate/flags/{key}`.
async fn one(
    State(api): State<OfrepApi>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reader = match Reader::of(&api, &headers).await {
        Ok(r) => r,
        Err(denied) => return denied.into_response(),
    };
    let context = match wire::context(&body) {
        Ok(c) => c,
        Err(r) => return refused(r, Some(&key)),
    };
    let environment = match reader.environment(&api, context.environment.as_deref(), Some(&key)) {
        Ok(e) => e,
        Err(denied) => return denied.into_response(),
    };
    let answers = match api.answers(&environment).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    match answers.one(&key, &context.targeting_key, &api.counted) {
        One::Found(body) => json_text(StatusCode::OK, body),
        One::NotFound => answer(
            StatusCode::NOT_FOUND,
            wire::failure(
                Some(&key),
                ErrorCode::FlagNotFound,
                &format!("no plan owns a flag {key:?}; the key is [plan] flag in its plan file"),
            ),
        ),
        One::Broken(why) => {
            tracing::error!(flag = %key, "{why}");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                wire::failure(Some(&key), ErrorCode::General, &why),
            )
        }
    }
}

/// A JSON answer already written out.
fn json_text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `POST /ofrep/v1/evaluate/flags`: every flag, each a success or its own
/// failure; 304 when `If-None-Match` names what the answer would be.
async fn bulk(State(api): State<OfrepApi>, headers: HeaderMap, body: Bytes) -> Response {
    let reader = match Reader::of(&api, &headers).await {
        Ok(r) => r,
        Err(denied) => return denied.into_response(),
    };
    let context = match wire::context(&body) {
        Ok(c) => c,
        Err(r) => return refused(r, None),
    };
    let environment = match reader.environment(&api, context.environment.as_deref(), None) {
        Ok(e) => e,
        Err(denied) => return denied.into_response(),
    };
    let answers = match api.answers(&environment).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    // The answer is the flags' state in the environment applied to this
    // targeting key: equal tags, equal answers.
    let mut h = Sha256::new();
    h.update(
        format!(
            "{}\u{0}{environment}\u{0}{}",
            answers.digest(),
            context.targeting_key
        )
        .as_bytes(),
    );
    let etag = HeaderValue::from_str(&format!(
        "\"{}\"",
        crate::audit::chain::hex(&h.finalize()[..16])
    ))
    .expect("hex is a header value");
    if matches(&headers, &etag) {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        res.headers_mut().insert(header::ETAG, etag);
        return res;
    }
    let stream = events::address(&api, &headers, &reader, &environment);
    let mut res = json_text(
        StatusCode::OK,
        answers.all(&context.targeting_key, &stream, &api.counted),
    );
    res.headers_mut().insert(header::ETAG, etag);
    res
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.to_str().unwrap_or_default();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}
