//! How a service error becomes an HTTP answer on the REST API: a status that
//! says whose fault it is and a JSON body `{"error": "…", "code": "…"}`
//! saying what to do, with a stable code a client can branch on (`CODES`:
//! the one table of them, in the OpenAPI document too).
use app::error::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub struct ApiError(pub AppError);

/// Every error answer of the REST API.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong and, where the caller can, how to fix it.
    pub error: String,
    /// What kind of error, stable across versions and languages (the
    /// message is for people): one of `CODES`.
    #[schema(example = "stale_revision")]
    pub code: String,
}

/// Every error code with the status it comes with and what it means, once.
pub const CODES: [(&str, StatusCode, &str); 17] = [
    (
        "invalid",
        StatusCode::BAD_REQUEST,
        "the request is wrong: the message says what, where and how to fix it",
    ),
    (
        "unauthenticated",
        StatusCode::UNAUTHORIZED,
        "sign in, or send an API token",
    ),
    (
        "forbidden",
        StatusCode::FORBIDDEN,
        "the caller may not do this (its roles, its token's scopes, or a cross-site request)",
    ),
    (
        "not_found",
        StatusCode::NOT_FOUND,
        "no such thing, or no such endpoint",
    ),
    (
        "method_not_allowed",
        StatusCode::METHOD_NOT_ALLOWED,
        "the path takes other methods (the Allow header)",
    ),
    (
        "timeout",
        StatusCode::REQUEST_TIMEOUT,
        "the request took longer than the console waits",
    ),
    (
        "lost_race",
        StatusCode::CONFLICT,
        "another request changed it at the same moment: try again",
    ),
    (
        "stale_revision",
        StatusCode::CONFLICT,
        "it changed since you read it (the plan's revision): reload it and apply your change again",
    ),
    (
        "already_exists",
        StatusCode::CONFLICT,
        "the name is taken, or the decision or run already exists",
    ),
    (
        "wrong_state",
        StatusCode::CONFLICT,
        "its state does not allow this now (a phase soaking, a final plan, a run driven elsewhere): the message says what must happen first",
    ),
    (
        "not_confirmed",
        StatusCode::CONFLICT,
        "a destructive command's confirmation (the plan's name, typed) does not match the plan: nothing was done",
    ),
    (
        "too_large",
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body is larger than the console reads",
    ),
    (
        "unsupported_media_type",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "send the body with the content type the API documents",
    ),
    (
        "misdirected",
        StatusCode::MISDIRECTED_REQUEST,
        "the console does not answer to that host name",
    ),
    (
        "rate_limited",
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests: wait as Retry-After says",
    ),
    (
        "unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "something the console depends on is not answering: try again later",
    ),
    (
        "internal",
        StatusCode::INTERNAL_SERVER_ERROR,
        "the console failed; the cause is logged on the server",
    ),
];

/// The code of an error answer with `status` (for 409, `lost_race`: a
/// conflict that says no more; `internal` for any other 5xx, `invalid` for
/// any other 4xx).
pub fn code_of(status: StatusCode) -> &'static str {
    CODES
        .iter()
        .find(|(_, s, _)| *s == status)
        .map(|(code, _, _)| *code)
        .unwrap_or(if status.is_server_error() {
            "internal"
        } else {
            "invalid"
        })
}

/// An error answer: `status` with `{"error": message, "code": …}`.
pub fn answer(status: StatusCode, message: impl Into<String>) -> Response {
    answer_with_code(status, code_of(status), message)
}

/// `answer` with a code more precise than the status's own (which 409).
fn answer_with_code(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": message.into(), "code": code });
    (status, Json(body)).into_response()
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

/// Any layer's error answers through the one taxonomy (`error_kind`).
impl<E: crate::error_kind::Classify> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(crate::error_kind::app_error(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match &self.0 {
            AppError::Unauthenticated => {
                "sign in, or send an API token as `Authorization: Bearer <token>`".to_string()
            }
            other => other.to_string(),
        };
        let code = match &self.0 {
            AppError::Conflict(why, _) => why.code(),
            _ => code_of(status),
        };
        answer_with_code(status, code, message)
    }
}

impl ApiError {
    /// The same body with a different status.
    pub fn with_status(self, status: StatusCode) -> Response {
        let mut res = self.into_response();
        *res.status_mut() = status;
        res
    }
}
