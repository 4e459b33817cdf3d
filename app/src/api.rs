//! Server functions: each one takes the request's services and caller, calls
//! the service (which authorizes), and returns its result. Endpoints are named
//! explicitly so their URLs are stable across builds.
pub mod audit;
pub mod backfill;
pub mod identity;
pub mod live;
pub mod notify;
pub mod plan_parts;
pub mod plans;

use leptos::prelude::*;

use crate::dto::SystemFacts;
use crate::error::AppError;

#[server(endpoint = "system_facts")]
pub async fn get_system_facts() -> Result<SystemFacts, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    crate::service::answer(services.system.system_facts(&caller).await)
}
