//! Server functions: each one authorizes, calls the service, maps the error.
//! Endpoints are named explicitly so their URLs are stable across builds.
use leptos::prelude::*;

use crate::dto::SystemFacts;
use crate::error::AppError;

#[server(endpoint = "system_facts")]
pub async fn get_system_facts() -> Result<SystemFacts, AppError> {
    crate::service::use_service()?.system_facts().await
}
