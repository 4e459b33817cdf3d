//! One plan: the phase stepper, each phase's checklist (who ticked, when) and
//! gate (decisions, who is still needed), the flag's exposure, and the
//! rollback buttons. Rendered on the server; every form works without
//! JavaScript. In the browser the page redraws itself when anyone changes
//! the plan (SSE), and each form reports its own error next to it
//! (`form`, `browser::live`).
pub mod approve;
pub mod change;
pub mod edit;
pub mod form;
pub mod guardrails;
pub mod head;
pub mod oncall;
pub mod phase;
pub mod pilot;
pub mod rollback;
pub mod timeline;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::access::{roles_allow, Action};
use crate::api::plans::{load_plan_page, RunPlanCommand};
use crate::dto::identity::CurrentUser;
use crate::dto::plans::{PhaseStatus, PlanPage, PlanView};
use crate::pages::regions::Regions;
use crate::Me;
use phase::PhaseCard;

#[component]
pub fn PlanPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // A form sent without JavaScript comes back with its error in the URL.
    let sent_early = ServerAction::<RunPlanCommand>::new();
    // The timeline's range is in the address (a GET form; in the browser a
    // change redraws the regions in place).
    let hours = query.read_untracked().get("hours").unwrap_or_default();
    let page = Resource::new(
        move || (id(), hours.clone()),
        |(id, h)| load_plan_page(id, h),
    );
    let me = expect_context::<Me>();
    // The regions the browser redraws when anyone changes the plan (its
    // change feed): the parts whose sum changed, asked of `plan_regions`
    // (`pages::regions`). The outcome line between them is left alone.
    view! {
        <Title text="Plan" />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || page.get().map(|r| {
                let user = me.get().and_then(|r| r.ok()).flatten();
                let (head, body) = match r {
                    Err(e) => (
                        view! { <section class="card"><p class="error" id="plan-error">{e.to_string()}</p></section> }.into_any(),
                        ().into_any(),
                    ),
                    Ok(p) => {
                        let hours = query.read_untracked().get("hours").unwrap_or_default();
                        let [head, chart, phases] = regions(p, &hours, user.as_ref(), None);
                        let body = view! {
                            {timeline::timeline_card(&hours, chart.into_views())}
                            {phases.into_views()}
                        };
                        (head.into_views().into_any(), body.into_any())
                    }
                };
                view! {
                    <div
                        class="live"
                        id="live-plan-head"
                        data-live-region
                        data-live-feed=format!("/api/v1/plans/{}/events", id())
                        data-live-regions=format!("/api/plan_regions?id={}", id())
                    >
                        {head}
                    </div>
                    <div id="outcome" aria-live="polite" data-live-outcome>
                        {move || sent_early.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error outcome">{e.to_string()}</p> })}
                        {move || saved_line(query.read().get("saved").as_deref())}
                    </div>
                    <div class="live" id="live-plan" data-live-region>{body}</div>
                }
            })}
        </Transition>
    }
}

/// The plan page's regions for `user`: the head's, the timeline's (the
/// chart over `hours`, the events under it) and the rest (each phase, the
/// rollback panel); `have`: what the browser holds, for a redraw.
pub fn regions(
    page: PlanPage,
    hours: &str,
    user: Option<&CurrentUser>,
    have: Option<&str>,
) -> [Regions; 3] {
    // What every region is drawn from and for (`Regions::tagged`).
    let tag = format!(
        "{}|{hours}|{}",
        page.tag,
        serde_json::to_string(&user).unwrap_or_default()
    );
    let fresh = || {
        have.map_or_else(Regions::all, Regions::changed_since)
            .tagged(tag.clone())
    };
    let (mut head, mut timeline, mut rest) = (fresh(), fresh(), fresh());
    head::head_regions(&mut head, &page.plan, user);
    let id = page.plan.summary.id.as_str();
    let t = &page.timeline;
    // Each from what it shows: a new event changes the list, not the chart.
    let svg = t.as_ref().map(|t| &t.svg);
    timeline.add("live-timeline-chart", &svg, || timeline::chart(t));
    let listed = t.as_ref().ok().map(|t| (&t.events, t.events_in_range));
    timeline.add("live-timeline-events", &(id, listed), || {
        timeline::events(id, t)
    });
    body_regions(&mut rest, &page.plan, user);
    [head, timeline, rest]
}

/// The rest: each phase and the rollback panel.
fn body_regions(regions: &mut Regions, plan: &PlanView, user: Option<&CurrentUser>) {
    let id = plan.summary.id.as_str();
    let roles = head::roles_of(user);
    let username = user.map(|u| u.username.as_str()).unwrap_or_default();
    let status = plan.summary.status;
    let next_pending = plan
        .phases
        .iter()
        .position(|p| p.status == PhaseStatus::Pending);
    for (i, p) in plan.phases.iter().enumerate() {
        // What its environment has on now: its percentage and its pilot
        // entities (nothing while off).
        let (bp, allow) = plan
            .flag
            .environments
            .iter()
            .find(|e| e.environment == p.environment && e.enabled)
            .map_or((0, &[][..]), |e| (e.exposure_bp, &e.allow[..]));
        let is_next = next_pending == Some(i);
        let edits = &plan.edits_since_approval;
        regions.add(
            format!("live-phase-{}", p.id),
            &(id, status, p, &roles, username, is_next, bp, allow, edits),
            || {
                view! {
                    <PhaseCard
                        phase=p.clone()
                        plan_id=id.to_string()
                        plan_status=status
                        roles=roles.clone()
                        username=username.to_string()
                        is_next
                        current_bp=bp
                        current_allow=allow.to_vec()
                        edits=edits.clone()
                    />
                }
            },
        );
    }
    let can_write = roles_allow(&roles, Action::WritePlans);
    regions.add(
        "live-rollback",
        &(id, status, &plan.rollbacks, can_write),
        || can_write.then(|| rollback::rollback_panel(id, status, &plan.rollbacks)),
    );
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
