//! Server functions of the audit review page.
use leptos::prelude::*;

use crate::dto::audit::{AuditEvent, AuditPage, AuditQuery, ChainReport};
use crate::error::AppError;

/// JSON in: every filter field is optional, which a URL-encoded body cannot
/// represent when all of them are absent.
#[server(endpoint = "audit_page", input = leptos::server_fn::codec::Json)]
pub async fn load_audit_page(query: AuditQuery) -> Result<AuditPage, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    crate::service::answer(services.audit.page(&caller, query).await)
}

#[server(endpoint = "audit_event")]
pub async fn load_audit_event(seq: i64) -> Result<AuditEvent, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    crate::service::answer(services.audit.event(&caller, seq).await)
}

#[server(endpoint = "audit_chain_report")]
pub async fn load_chain_report() -> Result<ChainReport, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    crate::service::answer(services.audit.chain_report(&caller).await)
}

#[server(endpoint = "audit_verify")]
pub async fn verify_chain() -> Result<ChainReport, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    crate::service::answer(services.audit.verify_now(&caller).await)
}
