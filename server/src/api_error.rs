//! How a service error becomes an HTTP answer on the REST API: a status that
//! says whose fault it is and a JSON body `{"error": "…"}` saying what to do.
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
        (status, Json(json!({ "error": message }))).into_response()
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
