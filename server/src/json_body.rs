//! How the REST API reads a JSON request body: a JSON object (serde would
//! also take an array for a struct, `[]` as "all defaults"), whose fields
//! are those the OpenAPI document states. A body that is not JSON, or not
//! of the documented content type, gets axum's answer (a 400 or 415, made
//! JSON by `http::api_errors`).
use app::error::AppError;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::api_error::ApiError;

pub struct JsonObject<T>(pub T);

impl<S, T> FromRequest<S> for JsonObject<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let invalid = |message: String| ApiError(AppError::Invalid(message)).into_response();
        if !value.is_object() {
            return Err(invalid("body: send a JSON object".to_string()));
        }
        serde_path_to_error::deserialize(value)
            .map(JsonObject)
            .map_err(|e| match e.path().to_string().as_str() {
                "." => invalid(format!("body: {}", e.inner())),
                path => invalid(format!("body: {path}: {}", e.inner())),
            })
    }
}
