//! One plan: the phase stepper, each phase's checklist (who ticked, when) and
//! gate (decisions, who is still needed), the flag's exposure, and the
//! rollback buttons. Rendered on the server; every form works without
//! JavaScript. In the browser the page redraws itself when anyone changes
//! the plan (SSE), and each form reports its own error next to it
//! (`form`, `browser::live`).
pub mod change;
pub mod edit;
pub mod form;
pub mod guardrails;
pub mod phase;
pub mod pilot;
pub mod rollback;
pub mod timeline;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::access::{roles_allow, Action, Role};
use crate::api::plans::{load_plan, RunPlanCommand};
use crate::dto::identity::CurrentUser;
use crate::dto::plans::{exposure_text, percent, PhaseStatus, PlanStatus, PlanView};
use crate::pages::local_time::LocalTime;
use crate::Me;
use form::{fields, CommandForm};
use phase::PhaseCard;

#[component]
pub fn PlanPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // A form sent without JavaScript comes back with its error in the URL.
    let sent_early = ServerAction::<RunPlanCommand>::new();
    let plan = Resource::new(id, load_plan);
    let me = expect_context::<Me>();
    let user = move || me.get().and_then(|r| r.ok()).flatten();
    // Two regions the browser redraws when anyone changes the plan (its
    // change feed), with the outcome line between them left alone.
    view! {
        <Title text="Plan" />
        <div class="live" id="live-plan-head" data-live-region data-live-feed=move || format!("/api/v1/plans/{}/events", id())>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || plan.get().map(|r| match r {
                    Err(e) => view! { <section class="card"><p class="error" id="plan-error">{e.to_string()}</p></section> }.into_any(),
                    Ok(p) => view! { <PlanBody plan=p user=user() phases=false /> }.into_any(),
                })}
            </Transition>
        </div>
        <div id="outcome" aria-live="polite" data-live-outcome>
            {move || sent_early.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error outcome">{e.to_string()}</p> })}
            {move || saved_line(query.read().get("saved").as_deref())}
        </div>
        <div class="live" id="live-plan" data-live-region>
            <timeline::TimelineCard plan_id=id() />
            <Transition fallback=|| ()>
                {move || plan.get().and_then(|r| r.ok()).map(|p| view! { <PlanBody plan=p user=user() phases=true /> })}
            </Transition>
            <rollback::RollbackPanel plan_id=Signal::derive(id) plan />
        </div>
    }
}

/// What the edit page's save did, said on the plan page it leads to.
fn saved_line(saved: Option<&str>) -> Option<impl IntoView> {
    let said = match saved? {
        "applied" => "Plan file saved: the change applies now.",
        "change_request" => "Plan file saved as a change request: it applies once approved (see the change request below).",
        _ => return None,
    };
    Some(view! { <p class="ok outcome" id="saved">{said}</p> })
}

/// The plan's head (`phases` false: the sticky bar, the plan card, its
/// guardrails) or its phase cards (true); the timeline sits between them.
#[component]
fn PlanBody(plan: PlanView, user: Option<CurrentUser>, phases: bool) -> impl IntoView {
    let roles: Vec<Role> = user.as_ref().map(|u| u.roles.clone()).unwrap_or_default();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let username = user.map(|u| u.username).unwrap_or_default();
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
            .phases
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
            .phases
            .last()
            .is_some_and(|p| p.status == PhaseStatus::Approved && p.checklist_complete);
    let next_pending = plan
        .phases
        .iter()
        .position(|p| p.status == PhaseStatus::Pending);
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
        .phases
        .iter()
        .map(|p| {
            view! {
                <li data-status=p.status.as_str() data-phase=p.name.clone()>
                    <span class="step-name">{p.name.clone()}</span>
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
    if phases {
        return phase_cards(plan, &roles, &username, next_pending);
    }
    let incident = plan.incident.clone().map(incident_banner);
    view! {
        {plan_bar(&plan, can_write)}
        {incident}
        <section class="card" id="plan" data-status=status.as_str() data-revision=s.revision.to_string()>
            <div class="card-head">
                <h1 id="plan-name">{s.name.clone()}</h1>
                <span class=format!("status {}", status.as_str()) id="plan-status">{status.label()}</span>
            </div>
            <p class="muted">{plan.description.clone()}</p>
            <dl class="facts">
                <dt>"Flag"</dt>
                <dd><code>{plan.flag.key.clone()}</code> <ul class="exposures" id="flag-exposure">{exposures}</ul> {resume}</dd>
                {deny}
                {pilot::allow_lists(&s.id, &plan.flag.environments, can_write, !status.is_final())}
                <dt>"Created"</dt>
                <dd><LocalTime ms=plan.created_at_ms/>{format!(" by {}", plan.created_by)}</dd>
                <dt>"Revision"</dt>
                <dd>{s.revision}</dd>
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
        {guardrails::guardrails_card(&plan.guardrails, (can_write && status == PlanStatus::Active).then_some(s.id.as_str()))}
    }
    .into_any()
}

/// Always in reach while scrolling: the plan, its status, each
/// environment's exposure, and the way to the timeline and to Roll back.
fn plan_bar(plan: &PlanView, can_write: bool) -> impl IntoView {
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

/// The phase cards, in order.
fn phase_cards(
    plan: PlanView,
    roles: &[Role],
    username: &str,
    next_pending: Option<usize>,
) -> AnyView {
    let status = plan.summary.status;
    let plan_id = plan.summary.id.clone();
    let envs = plan.flag.environments;
    let edits = plan.edits_since_approval;
    // What each environment has on now: its percentage and its pilot
    // entities (nothing while off).
    let current = move |env: &str| {
        envs.iter()
            .find(|e| e.environment == env && e.enabled)
            .map_or((0, Vec::new()), |e| (e.exposure_bp, e.allow.clone()))
    };
    plan.phases
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (bp, allow) = current(&p.environment);
            view! {
                <PhaseCard
                    phase=p
                    plan_id=plan_id.clone()
                    plan_status=status
                    roles=roles.to_vec()
                    username=username.to_string()
                    is_next=next_pending == Some(i)
                    current_bp=bp
                    current_allow=allow
                    edits=edits.clone()
                />
            }
        })
        .collect_view()
        .into_any()
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
