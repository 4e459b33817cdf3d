//! Server functions of the plan pages. Every plan-page form posts to the one
//! `plan_command` endpoint with the fields it has; the command is built here
//! and the service authorizes and runs it.
// One optional argument per form field (the macro's generated client code
// carries them too).
#![allow(clippy::too_many_arguments)]
use leptos::prelude::*;

use crate::dto::plans::{
    CommandOutcome, PlanCommand, PlanSource, PlanSummary, RollbackKind, TemplateInfo, Verdict,
};
use crate::error::AppError;

#[server(endpoint = "plans")]
pub async fn list_plans() -> Result<Vec<PlanSummary>, AppError> {
    crate::service::serve(async move |s, c| s.plans.plans(&c).await).await
}

/// The plan page's data; `hours`: the timeline's range (empty or not a
/// number: the plan's whole life).
#[server(endpoint = "plan_page")]
pub async fn load_plan_page(
    id: String,
    hours: String,
) -> Result<crate::dto::plans::PlanPage, AppError> {
    crate::service::serve(async move |s, c| s.plans.page(&c, id, hours.parse().ok()).await).await
}

#[server(endpoint = "plan_templates")]
pub async fn list_templates() -> Result<Vec<TemplateInfo>, AppError> {
    crate::service::serve(async move |s, c| s.plans.templates(&c).await).await
}

/// Creates a draft plan from a template and opens it.
#[server(endpoint = "plan_create")]
pub async fn create_plan(
    template: String,
    name: String,
    flag_key: String,
) -> Result<PlanSummary, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    let new = crate::dto::plans::NewPlan {
        template,
        name,
        flag_key,
    };
    let plan = crate::service::answer(services.plans.create(&caller, new).await)?;
    leptos_axum::redirect(&format!("/plans/{}", plan.id));
    Ok(plan)
}

#[server(endpoint = "plan_source")]
pub async fn load_plan_source(id: String) -> Result<PlanSource, AppError> {
    crate::service::serve(async move |s, c| s.plans.source(&c, id).await).await
}

/// Saves an edited plan file and opens the plan.
#[server(endpoint = "plan_save_source")]
pub async fn save_plan_source(
    id: String,
    source: String,
    revision: i64,
) -> Result<PlanSummary, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    let plan = crate::service::answer(
        services
            .plans
            .save_source(&caller, id.clone(), source, revision)
            .await,
    )?;
    // An edit that weakens a gate waits as a change request: show it.
    // The plan page says it was saved (or is waiting as a change request).
    let (saved, anchor) = if plan.pending_change.is_some() {
        ("change_request", "#change-request")
    } else {
        ("applied", "")
    };
    leptos_axum::redirect(&format!("/plans/{id}?saved={saved}{anchor}"));
    Ok(plan)
}

/// The plan page's forms: `command` names the command, the other fields are
/// those the command needs.
#[server(endpoint = "plan_command")]
pub async fn run_plan_command(
    plan_id: String,
    command: String,
    phase_id: Option<String>,
    item_id: Option<String>,
    verdict: Option<String>,
    ticked: Option<String>,
    comment: Option<String>,
    evidence: Option<String>,
    reason: Option<String>,
    confirm: Option<String>,
    kind: Option<String>,
    entity: Option<String>,
    change_id: Option<String>,
    environment: Option<String>,
    guardrail: Option<String>,
    accept_irreversible: Option<String>,
    incident_id: Option<String>,
    signature: Option<String>,
) -> Result<CommandOutcome, AppError> {
    let (services, caller) = crate::service::answer(crate::service::request_context())?;
    let form = CommandForm {
        phase_id,
        item_id,
        verdict,
        ticked,
        comment,
        evidence,
        reason,
        confirm,
        kind,
        entity,
        change_id,
        environment,
        guardrail,
        accept_irreversible,
        incident_id,
        signature,
    };
    let cmd = crate::service::answer(form.into_command(&command))?;
    crate::service::answer(services.plans.command(&caller, plan_id, cmd).await)
}

/// The fields of a plan-page form.
#[derive(Debug, Default)]
pub struct CommandForm {
    pub phase_id: Option<String>,
    pub item_id: Option<String>,
    pub verdict: Option<String>,
    pub ticked: Option<String>,
    pub comment: Option<String>,
    pub evidence: Option<String>,
    pub reason: Option<String>,
    pub confirm: Option<String>,
    pub kind: Option<String>,
    /// For `allow`: one or more entity ids, separated by commas, spaces
    /// or lines.
    pub entity: Option<String>,
    pub change_id: Option<String>,
    pub environment: Option<String>,
    pub guardrail: Option<String>,
    /// For `rollback`: a ticked "roll back anyway" box.
    pub accept_irreversible: Option<String>,
    pub incident_id: Option<String>,
    /// For `decide` on a signed gate: the assertion, as JSON.
    pub signature: Option<String>,
}

impl CommandForm {
    pub fn into_command(self, command: &str) -> Result<PlanCommand, AppError> {
        fn need(field: &str, v: Option<String>) -> Result<String, AppError> {
            v.ok_or_else(|| AppError::Invalid(format!("{field}: missing from the form")))
        }
        Ok(match command {
            "start_phase" => PlanCommand::StartPhase {
                phase_id: need("phase_id", self.phase_id)?,
            },
            "request_approval" => PlanCommand::RequestApproval {
                phase_id: need("phase_id", self.phase_id)?,
            },
            "decide" => PlanCommand::Decide {
                phase_id: need("phase_id", self.phase_id)?,
                verdict: Verdict::parse(&need("verdict", self.verdict)?)
                    .map_err(|e| AppError::Invalid(format!("verdict: {e}")))?,
                comment: self.comment.unwrap_or_default(),
                evidence: need("evidence", self.evidence)?,
                signature: self
                    .signature
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| serde_json::from_str(&s))
                    .transpose()
                    .map_err(|e| AppError::Invalid(format!("signature: not an assertion ({e})")))?,
            },
            "override" => PlanCommand::Override {
                phase_id: need("phase_id", self.phase_id)?,
                reason: self.reason.unwrap_or_default(),
                evidence: need("evidence", self.evidence)?,
            },
            "tick" => PlanCommand::Tick {
                item_id: need("item_id", self.item_id)?,
                ticked: need("ticked", self.ticked)? == "true",
                comment: self.comment.unwrap_or_default(),
            },
            "complete" => PlanCommand::Complete {
                confirm: self.confirm.unwrap_or_default(),
            },
            "rollback" => PlanCommand::Rollback {
                kind: RollbackKind::parse(&need("kind", self.kind)?)
                    .map_err(|e| AppError::Invalid(format!("kind: {e}")))?,
                confirm: self.confirm.unwrap_or_default(),
                reason: self.reason.unwrap_or_default(),
                entity: self.entity.unwrap_or_default(),
                accept_irreversible: self
                    .accept_irreversible
                    .is_some_and(|v| v == "true" || v == "on"),
            },
            "resume" => PlanCommand::Resume {
                reason: self.reason.unwrap_or_default(),
            },
            "restore" => PlanCommand::Restore {
                entity: need("entity", self.entity)?,
                reason: self.reason.unwrap_or_default(),
            },
            "decide_change" => PlanCommand::DecideChange {
                change_id: need("change_id", self.change_id)?,
                verdict: Verdict::parse(&need("verdict", self.verdict)?)
                    .map_err(|e| AppError::Invalid(format!("verdict: {e}")))?,
                comment: self.comment.unwrap_or_default(),
            },
            "override_change" => PlanCommand::OverrideChange {
                change_id: need("change_id", self.change_id)?,
                reason: self.reason.unwrap_or_default(),
            },
            "withdraw_change" => PlanCommand::WithdrawChange {
                change_id: need("change_id", self.change_id)?,
            },
            "allow" => PlanCommand::Allow {
                environment: need("environment", self.environment)?,
                entities: need("entity", self.entity)?
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect(),
                reason: self.reason.unwrap_or_default(),
            },
            "disallow" => PlanCommand::Disallow {
                environment: need("environment", self.environment)?,
                entity: need("entity", self.entity)?,
                reason: self.reason.unwrap_or_default(),
            },
            "continue" => PlanCommand::Continue {
                issue: self.comment.unwrap_or_default(),
                reason: self.reason.unwrap_or_default(),
            },
            "capture_baseline" => PlanCommand::CaptureBaseline {
                guardrail: need("guardrail", self.guardrail)?,
                reason: self.reason.unwrap_or_default(),
            },
            "acknowledge" => PlanCommand::Acknowledge {
                incident_id: need("incident_id", self.incident_id)?,
            },
            "load_allow_query" => PlanCommand::LoadAllowQuery {
                phase_id: need("phase_id", self.phase_id)?,
                reason: self.reason.unwrap_or_default(),
            },
            other => {
                return Err(AppError::Invalid(format!(
                    "command: {other:?} is not a plan command"
                )))
            }
        })
    }
}

/// A plan's view alone (no timeline): the focused approval view's data.
#[server(endpoint = "plan_view")]
pub async fn load_plan_view(id: String) -> Result<crate::dto::plans::PlanView, AppError> {
    crate::service::serve(async move |s, c| s.plans.plan(&c, id).await).await
}
