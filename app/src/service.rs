//! The service port the server functions call. `server` implements it and
//! provides it through Leptos context, so `app` never touches storage.
use std::sync::Arc;

use crate::dto::SystemFacts;
use crate::error::AppError;

#[async_trait::async_trait]
pub trait ConsoleService: Send + Sync + 'static {
    async fn system_facts(&self) -> Result<SystemFacts, AppError>;
}

/// How the service travels through Leptos context.
pub type SharedService = Arc<dyn ConsoleService>;

/// The service provided for this request, or `Internal` when the server forgot
/// to provide it (a wiring bug, logged by the caller).
pub fn use_service() -> Result<SharedService, AppError> {
    leptos::prelude::use_context::<SharedService>().ok_or(AppError::Internal)
}
