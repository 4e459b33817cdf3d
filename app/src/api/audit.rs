//! Server functions of the audit review page.
use leptos::prelude::*;

use crate::dto::audit::{AuditEvent, AuditPage, AuditQuery, ChainReport};
use crate::error::AppError;

/// JSON in: every filter field is optional, which a URL-encoded body cannot
/// represent when all of them are absent.
#[server(endpoint = "audit_page", input = leptos::server_fn::codec::Json)]
pub async fn load_audit_page(query: AuditQuery) -> Result<AuditPage, AppError> {
    let mut query = query;
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    // Refused here as below: no plan lookup for whoever may not read the trail.
    caller.require(crate::access::Action::ReadAudit)?;
    // Plans by name: for the subject filter, and for showing subjects.
    let plans = if caller.require(crate::access::Action::ReadPlans).is_ok() {
        crate::service::answer(services.plans.plans(&caller).await)?
    } else {
        Vec::new()
    };
    let named = query
        .subject
        .clone()
        .filter(|s| !s.trim().is_empty() && !s.contains(':') && !s.contains('*'));
    if let Some(name) = named {
        query.subject = Some(crate::service::answer(plan_subject(&plans, &name))?);
    }
    let subject = query.subject.clone();
    let mut page = crate::service::answer(services.audit.page(&caller, query).await)?;
    page.subject = subject;
    page.subject_names = plans
        .into_iter()
        .map(|p| (format!("plan:{}", p.id), p.name))
        .filter(|(subject, _)| page.events.iter().any(|e| &e.subject == subject))
        .collect();
    Ok(page)
}

/// A subject filter without `kind:` names a plan: the one with that name, or
/// the only one whose name contains it (ignoring case).
#[cfg(feature = "ssr")]
fn plan_subject(plans: &[crate::dto::plans::PlanSummary], name: &str) -> Result<String, AppError> {
    let wanted = name.trim().to_lowercase();
    let exact: Vec<_> = plans
        .iter()
        .filter(|p| p.name.to_lowercase() == wanted)
        .collect();
    let matching: Vec<_> = if exact.is_empty() {
        plans
            .iter()
            .filter(|p| p.name.to_lowercase().contains(&wanted))
            .collect()
    } else {
        exact
    };
    match matching.as_slice() {
        [one] => Ok(format!("plan:{}", one.id)),
        [] => Err(AppError::Invalid(format!(
            "subject: no plan is named like {name:?}; give a plan's name, or a subject such as user:alice or plan:*"
        ))),
        many => Err(AppError::Invalid(format!(
            "subject: {} plans match {name:?} ({}); give more of the name",
            many.len(),
            many.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[server(endpoint = "audit_event")]
pub async fn load_audit_event(seq: i64) -> Result<AuditEvent, AppError> {
    crate::service::serve(async move |s, c| s.audit.event(&c, seq).await).await
}

#[server(endpoint = "audit_chain_report")]
pub async fn load_chain_report() -> Result<ChainReport, AppError> {
    crate::service::serve(async move |s, c| s.audit.chain_report(&c).await).await
}

#[server(endpoint = "audit_verify")]
pub async fn verify_chain() -> Result<ChainReport, AppError> {
    crate::service::serve(async move |s, c| s.audit.verify_now(&c).await).await
}
