//! The plan page's head: the sticky bar, the incident the plan is in and
//! the plan card (one part, drawn from what it shows alone), the revision
//! (a small part every command changes) and the guardrails card.
use leptos::prelude::*;

use super::form::{fields, CommandForm};
use super::{change, guardrails, pilot};
use crate::access::{roles_allow, Action, Role};
use crate::dto::identity::CurrentUser;
use crate::dto::plans::{exposure_text, percent, PhaseStatus, PlanStatus, PlanView};
use crate::pages::local_time::LocalTime;
use crate::pages::regions::Regions;

/// What the plan's head shows: the sticky bar, the incident it is in and
/// the plan card. Its sum is worked out from these alone, so they hold only
/// what it shows: a ticked item or a new revision leaves it as it is.
#[derive(serde::Serialize)]
struct Head<'a> {
    /// The summary without its revision and last change (`live-revision`
    /// shows them).
    summary: crate::dto::plans::PlanSummary,
    description: &'a str,
    created_by: &'a str,
    created_at_ms: i64,
    flag: &'a crate::dto::plans::FlagView,
    steps: Vec<Step<'a>>,
    change_request: &'a Option<crate::dto::plans::ChangeRequestView>,
    jobs: &'a [String],
    incident: &'a Option<crate::dto::plans::IncidentView>,
    oncall: &'a Option<crate::dto::plans::OnCallView>,
}

/// A phase as the head shows it: a step of the stepper, where the plan is
/// paused, whether the last phase lets the plan complete.
#[derive(serde::Serialize)]
struct Step<'a> {
    name: &'a str,
    environment: &'a str,
    status: PhaseStatus,
    exposure_bp: i64,
    checklist_complete: bool,
}

/// The plan's head (one part), its revision (a small one: every command
/// changes it) and its guardrails (another).
pub(super) fn head_regions(regions: &mut Regions, plan: &PlanView, user: Option<&CurrentUser>) {
    // Everything the head is drawn from: a field added to the view must be
    // placed here (the head's inputs) or named as not shown in it.
    let PlanView {
        summary,
        description,
        created_by,
        created_at_ms,
        flag,
        phases,
        change_request,
        jobs,
        incident,
        oncall,
        guardrails,
        rollbacks: _,
        now_ms: _,
        edits_since_approval: _,
    } = plan;
    let head = Head {
        summary: crate::dto::plans::PlanSummary {
            revision: 0,
            updated_at_ms: 0,
            ..summary.clone()
        },
        description,
        created_by,
        created_at_ms: *created_at_ms,
        flag,
        steps: phases
            .iter()
            .map(|p| Step {
                name: &p.name,
                environment: &p.environment,
                status: p.status,
                exposure_bp: p.exposure_bp,
                checklist_complete: p.checklist_complete,
            })
            .collect(),
        change_request,
        jobs,
        incident,
        oncall,
    };
    regions.add("live-head", &(&head, user), || plan_head(&head, user));
    let (revision, changed) = (summary.revision, summary.updated_at_ms);
    regions.add("live-revision", &(revision, changed), || {
        view! {
            <p class="muted plan-revision" id="plan-revision">
                "Revision " {revision} ", last changed " <LocalTime ms=changed/>
            </p>
        }
    });
    let roles = roles_of(user);
    let writer = (roles_allow(&roles, Action::WritePlans) && summary.status == PlanStatus::Active)
        .then_some(summary.id.as_str());
    regions.add("live-guardrails", &(guardrails, writer), || {
        guardrails::guardrails_card(guardrails, writer)
    });
}

/// The sticky bar, the incident the plan is in and the plan card.
fn plan_head(plan: &Head, user: Option<&CurrentUser>) -> AnyView {
    let roles = roles_of(user);
    let user_id = user.map(|u| u.id.clone());
    let can_write = roles_allow(&roles, Action::WritePlans);
    let s = plan.summary.clone();
    let status = s.status;
    let exposures = plan
        .flag
        .environments
        .iter()
        .map(|e| {
            let shown = if e.enabled { exposure_text(e.exposure_bp, e.allow.len()) } else { "off".to_string() };
            view! {
                <li data-environment=e.environment.clone()>
                    {e.environment.clone()} " " <strong id=format!("exposure-{}", e.environment)>{shown}</strong>
                </li>
            }
        })
        .collect_view();
    let paused = status == PlanStatus::Active
        && plan
            .steps
            .iter()
            .rev()
            .find(|p| p.status.is_current())
            .and_then(|p| {
                plan.flag
                    .environments
                    .iter()
                    .find(|e| e.environment == p.environment)
            })
            .is_some_and(|e| !e.enabled);
    let resume = (paused && can_write).then(|| {
        let hidden = fields(&s.id, "resume", &[]);
        view! {
            <CommandForm class="inline" id="resume-form">
                {hidden}
                <input name="reason" required maxlength="2000" placeholder="Why resume" aria-label="Why resume" />
                <button type="submit">"Resume the running phase"</button>
            </CommandForm>
        }
    });
    let last_ready = status == PlanStatus::Active
        && plan
            .steps
            .last()
            .is_some_and(|p| p.status == PhaseStatus::Approved && p.checklist_complete);
    let mut denied: Vec<(String, Vec<String>)> = Vec::new();
    for e in &plan.flag.environments {
        for entity in &e.deny {
            match denied.iter_mut().find(|(d, _)| d == entity) {
                Some((_, envs)) => envs.push(e.environment.clone()),
                None => denied.push((entity.clone(), vec![e.environment.clone()])),
            }
        }
    }
    let deny = (!denied.is_empty()).then(|| {
        let rows = denied
            .into_iter()
            .map(|(entity, envs)| {
                let label = format!("Why restore {entity}");
                let hidden = fields(&s.id, "restore", &[("entity", entity.clone())]);
                let restore = can_write.then(|| view! {
                    <CommandForm class="inline">
                        {hidden}
                        <input name="reason" required maxlength="2000" placeholder="Why restore" aria-label=label />
                        <button type="submit">"Restore"</button>
                    </CommandForm>
                });
                view! {
                    <li data-denied=entity.clone()><code>{entity.clone()}</code> <span class="muted">{format!(" off in {}", envs.join(", "))}</span> {restore}</li>
                }
            })
            .collect_view();
        view! { <dt>"Rolled back alone"</dt><dd><ul class="plain" id="flag-deny">{rows}</ul></dd> }
    });
    let change = plan
        .change_request
        .clone()
        .map(|c| change::change_request(&s.id, c, &roles, user_id.as_deref()));
    let edit_link = if can_write && !status.is_final() {
        Some(
            view! { <a href=format!("/plans/{}/edit", s.id) id="edit-plan-link">"Edit plan file"</a> " · " },
        )
    } else {
        None
    };
    let complete = if can_write && last_ready {
        let hidden = fields(&s.id, "complete", &[]);
        let stays = s
            .exposures
            .iter()
            .map(|e| format!("{} {}", e.environment, e.text()))
            .collect::<Vec<_>>()
            .join(", ");
        Some(view! {
            <CommandForm class="stack" id="complete-plan">
                {hidden}
                <p>{format!(
                    "Completing ends the rollout: {} stays as it is now ({stays}) and the feature counts as launched. No phase can start again; the kill switch (emergency) and single-organisation rollbacks stay on this page.",
                    s.flag_key
                )}</p>
                <label>"Type the plan's name to complete it" <input name="confirm" required autocomplete="off" /></label>
                <button type="submit">"Complete the plan"</button>
            </CommandForm>
        })
    } else {
        None
    };
    let stepper = plan
        .steps
        .iter()
        .map(|p| {
            view! {
                <li data-status=p.status.as_str() data-phase=p.name.to_string()>
                    <span class="step-name">{p.name.to_string()}</span>
                    <span class="muted">{format!("{} · {}", percent(p.exposure_bp), p.status.label())}</span>
                </li>
            }
        })
        .collect_view();
    let jobs = (!plan.jobs.is_empty()).then(|| {
        let links = plan
            .jobs
            .iter()
            .map(|j| view! { <a href=format!("/plans/{}/jobs/{j}", s.id) data-job=j.clone()>{j.clone()}</a> " " })
            .collect_view();
        view! { <p class="jobs" id="plan-jobs">"Backfill jobs: " {links}</p> }
    });
    let incident = plan.incident.clone().map(incident_banner);
    let oncall = plan
        .oncall
        .as_ref()
        .map(|i| super::oncall::oncall_card(&s.id, i, user));
    view! {
        {plan_bar(plan, can_write)}
        {oncall}
        {incident}
        <section class="card" id="plan" data-status=status.as_str()>
            <div class="card-head">
                <h1 id="plan-name">{s.name.clone()}</h1>
                <span class=format!("status {}", status.as_str()) id="plan-status">{status.label()}</span>
            </div>
            <p class="muted">{plan.description.to_string()}</p>
            <dl class="facts">
                <dt>"Flag"</dt>
                <dd>
                    <code>{plan.flag.key.clone()}</code>
                    {plan.flag.serves.clone().map(|serves| view! { <span class="muted" id="flag-serves">{format!(" serves {serves}")}</span> })}
                    <ul class="exposures" id="flag-exposure">{exposures}</ul> {resume}
                </dd>
                {deny}
                {pilot::allow_lists(&s.id, &plan.flag.environments, can_write, !status.is_final())}
                <dt>"Created"</dt>
                <dd><LocalTime ms=plan.created_at_ms/>{format!(" by {}", plan.created_by)}</dd>
            </dl>
            <p class="links">
                {edit_link}
                <a href=format!("/api/v1/plans/{}/source", s.id) download="plan.toml" rel="external">"Export TOML"</a>
                " · "
                <a href=format!("/audit?subject=plan:{}", s.id) id="plan-history">"History in the audit trail"</a>
            </p>
            <ol class="stepper" id="stepper">{stepper}</ol>
            {change}
            {jobs}
            {complete}
        </section>
    }
    .into_any()
}

/// Always in reach while scrolling: the plan, its status, each
/// environment's exposure, and the way to the timeline and to Roll back.
fn plan_bar(plan: &Head, can_write: bool) -> impl IntoView {
    let s = &plan.summary;
    let exposures = plan
        .flag
        .environments
        .iter()
        .map(|e| {
            let shown = if e.enabled {
                exposure_text(e.exposure_bp, e.allow.len())
            } else {
                "off".to_string()
            };
            format!("{} {shown}", e.environment)
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let rollback = match (can_write, s.status) {
        (true, PlanStatus::Completed) => Some(
            view! { <a href="#rollback" class="danger-link" id="jump-rollback">"Kill switch…"</a> }
                .into_any(),
        ),
        (true, status) if !status.is_final() => Some(
            view! { <a href="#rollback" class="danger-link" id="jump-rollback">"Roll back…"</a> }
                .into_any(),
        ),
        _ => None,
    };
    view! {
        <nav class="plan-bar" id="plan-bar" aria-label="This plan">
            <strong>{s.name.clone()}</strong>
            <span class=format!("status {}", s.status.as_str())>{s.status.label()}</span>
            <span class="muted" id="plan-bar-exposure">{exposures}</span>
            <span class="spacer"></span>
            <a href="#timeline">"Timeline"</a>
            {rollback}
        </nav>
    }
}

/// The pause, rollback or abort the plan is still in: what happened, by
/// whom (the system, for a guardrail) and why, and what people do now.
fn incident_banner(i: crate::dto::plans::IncidentView) -> impl IntoView {
    let what = match i.action.as_str() {
        "plan.pause" => "Paused",
        "plan.rollback.standard" => "Rolled back",
        "plan.rollback.emergency" => "Emergency rollback: the flag is off everywhere",
        "plan.abort" => "Aborted: the flag is off everywhere",
        other => other,
    };
    let who = if i.by_system {
        "by the console (a guardrail)".to_string()
    } else {
        format!("by {}", i.by)
    };
    let steps = (!i.follow_up.is_empty()).then(|| {
        let items = i
            .follow_up
            .iter()
            .map(|s| view! { <li>{s.clone()}</li> })
            .collect_view();
        view! {
            <p>"What people do now (the plan's rollback steps; the console cannot run them):"</p>
            <ol class="follow-up">{items}</ol>
        }
    });
    view! {
        <section class="card incident" id="incident" data-action=i.action.clone() role="status">
            <h2>{what} {(!i.environment.is_empty()).then(|| format!(" ({})", i.environment))}</h2>
            <p>
                <LocalTime ms=i.at_ms/> " " {who} ": " <strong class="why">{i.why.clone()}</strong>
                " · " <a href=format!("/audit/{}", i.seq)>"the event"</a>
            </p>
            {steps}
        </section>
    }
}

/// The reader's roles (none when signed out).
pub(super) fn roles_of(user: Option<&CurrentUser>) -> Vec<Role> {
    user.map(|u| u.roles.clone()).unwrap_or_default()
}
