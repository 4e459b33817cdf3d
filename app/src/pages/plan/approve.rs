//! The focused approval view (`/plans/{id}/approve/{phase}`), where a
//! request for approval leads: on one screen, what the approval lets happen
//! next (every environment's exposure now → after), the guardrails reading
//! the phase's environment, and the phase itself — its runbook, its
//! checklist with each automatic item's evidence, what changed since the
//! last approval, and the decision form. Nothing of the plan's other phases.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::phase::PhaseCard;
use crate::api::plans::load_plan_view;
use crate::dto::identity::CurrentUser;
use crate::dto::plans::{percent, GuardrailView, PlanView};
use crate::Me;

#[component]
pub fn ApprovePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let phase = move || params.read().get("phase").unwrap_or_default();
    let plan = Resource::new(id, load_plan_view);
    let me = expect_context::<Me>();
    view! {
        <Title text="Approve" />
        <div class="live approve-view" id="live-approve" data-live-region
            data-live-feed=move || format!("/api/v1/plans/{}/events", id())>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || plan.get().map(|r| {
                let user = me.get().and_then(|r| r.ok()).flatten();
                match r {
                    Err(e) => view! { <section class="card"><p class="error" id="approve-error">{e.to_string()}</p></section> }.into_any(),
                    Ok(plan) => focused(plan, &phase(), user.as_ref()),
                }
            })}
        </Transition>
        </div>
        <div id="outcome" aria-live="polite" data-live-outcome></div>
    }
}

fn focused(plan: PlanView, phase_id: &str, user: Option<&CurrentUser>) -> AnyView {
    let Some(i) = plan.phases.iter().position(|p| p.id == phase_id) else {
        return view! {
            <section class="card"><p class="error" id="approve-error">
                {format!("plan {:?} has no phase with id {phase_id:?}; open the plan to find the gate", plan.summary.name)}
                " " <a href=format!("/plans/{}", plan.summary.id)>"Open the plan"</a>
            </p></section>
        }
        .into_any();
    };
    let p = plan.phases[i].clone();
    let next = plan.phases.get(i + 1);
    let id = plan.summary.id.clone();
    let now_bp = |env: &str| {
        plan.flag
            .environments
            .iter()
            .find(|e| e.environment == env && e.enabled)
            .map_or(0, |e| e.exposure_bp)
    };
    let exposure = plan
        .flag
        .environments
        .iter()
        .map(|e| {
            let now = now_bp(&e.environment);
            let after = next
                .filter(|n| n.environment == e.environment)
                .map_or(now, |n| n.exposure_bp);
            let class = if after > now { "rises" } else { "" };
            view! {
                <tr data-environment=e.environment.clone()>
                    <td>{e.environment.clone()}</td>
                    <td>{percent(now)}</td>
                    <td class=class>{percent(after)}</td>
                </tr>
            }
        })
        .collect_view();
    let lets = match next {
        Some(n) => format!(
            "Approving lets the next phase, {:?}, start: {} at {}.",
            n.name,
            n.environment,
            percent(n.exposure_bp)
        ),
        None => "This is the last phase: approving lets the plan complete.".to_string(),
    };
    let asked = if p.approvers.is_empty() {
        p.approver_roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    } else {
        p.approvers.join(", ")
    };
    let guardrails: Vec<GuardrailView> = plan
        .guardrails
        .iter()
        .filter(|g| g.environments.is_empty() || g.environments.contains(&p.environment))
        .cloned()
        .map(|mut g| {
            g.readings.retain(|r| r.environment == p.environment);
            g
        })
        .collect();
    let roles = user.map(|u| u.roles.clone()).unwrap_or_default();
    let username = user.map(|u| u.username.clone()).unwrap_or_default();
    let (bp, allow) = plan
        .flag
        .environments
        .iter()
        .find(|e| e.environment == p.environment && e.enabled)
        .map_or((0, Vec::new()), |e| (e.exposure_bp, e.allow.clone()));
    view! {
        <Title text=format!("Approve {} · {}", p.name, plan.summary.name) />
        <section class="card approve-head" id="approve-head" data-phase=p.name.clone()>
            <p class="muted"><a href=format!("/plans/{id}")>{format!("← {} (the whole plan)", plan.summary.name)}</a></p>
            <h1>{format!("Approve {:?}", p.name)}</h1>
            <p>{format!("{} at {} · asks {} · {} of {} approval(s)", p.environment, percent(p.exposure_bp), asked, p.approvals, p.approvals_required)}</p>
            <p class="lets">{lets}</p>
            <table class="exposure-change" id="exposure-change">
                <thead><tr><th>"Environment"</th><th>"Now"</th><th>"After"</th></tr></thead>
                <tbody>{exposure}</tbody>
            </table>
        </section>
        {super::guardrails::guardrails_card(&guardrails, None)}
        <PhaseCard
            phase=p
            plan_id=id
            plan_status=plan.summary.status
            roles
            username
            is_next=false
            current_bp=bp
            current_allow=allow
            edits=plan.edits_since_approval
        />
    }
    .into_any()
}
