//! What every REST handler takes first: its feature's state and who calls
//! (`Call(state, caller): Call<PlansApi>`). The caller is what
//! `auth::middleware::resolve_caller` put on the request (anonymous when
//! nobody signed in); the services authorize with it.
use app::error::AppError;
use app::service::Caller;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::api_error::ApiError;

pub struct Call<T>(pub T, pub Caller);

impl<S, T> FromRequestParts<S> for Call<T>
where
    S: Send + Sync,
    T: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<Caller>() {
            Some(caller) => Ok(Call(T::from_ref(state), caller.clone())),
            None => {
                tracing::error!("a REST handler ran without the caller middleware");
                Err(ApiError(AppError::Internal))
            }
        }
    }
}
