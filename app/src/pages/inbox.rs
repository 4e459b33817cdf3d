//! "Waiting for you": every gate and change request the signed-in person
//! may decide and has not, each linking to where to decide it (a gate to
//! its focused approval view). The header counts them, live.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::live::load_inbox;
use crate::dto::live::{WaitingChange, WaitingGate, WaitingIncident};
use crate::dto::plans::percent;
use crate::pages::local_time::LocalTime;

#[component]
pub fn InboxPage() -> impl IntoView {
    let inbox = Resource::new(|| (), |_| load_inbox());
    view! {
        <Title text="Waiting for you" />
        <div class="live" id="live-inbox" data-live-region>
        <section class="card" id="inbox">
            <h1>"Waiting for you"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || inbox.get().map(|r| match r {
                    Err(e) => view! { <p class="error" id="inbox-error">{e.to_string()}</p> }.into_any(),
                    Ok(i) if i.count() == 0 => view! {
                        <p class="muted" id="inbox-empty">"Nothing waits for your decision."</p>
                    }.into_any(),
                    Ok(i) => view! { <ul class="inbox">{waiting_items(&i.gates, &i.changes, &i.incidents)}</ul> }.into_any(),
                })}
            </Suspense>
        </section>
        </div>
    }
}

/// One line per item: incidents first (someone must answer), then change
/// requests (they hold edits back), then gates, each linking to where it
/// is acted on.
pub fn waiting_items(
    gates: &[WaitingGate],
    changes: &[WaitingChange],
    incidents: &[WaitingIncident],
) -> impl IntoView {
    let incidents = incidents
        .iter()
        .map(|i| {
            view! {
                <li class="paged" data-plan=i.plan_id.clone() data-incident=i.incident_id.clone()>
                    <a href=format!("/plans/{}#oncall", i.plan_id)>{format!("{} · incident: acknowledge", i.plan_name)}</a>
                    {format!(" — {} Paged (step {}) since ", i.summary, i.steps_paged)}
                    <LocalTime ms=i.opened_ms />
                </li>
            }
        })
        .collect_view();
    let changes = changes
        .iter()
        .map(|c| {
            view! {
                <li data-plan=c.plan_id.clone() data-change="">
                    <a href=format!("/plans/{}#change-request", c.plan_id)>{format!("{} · change request", c.plan_name)}</a>
                    {format!(
                        " by {} — changes: {}; {} of {} approvals",
                        c.author,
                        c.weakens.join("; "),
                        c.approvals,
                        c.approvals_required
                    )}
                </li>
            }
        })
        .collect_view();
    let gates = gates
        .iter()
        .map(|w| {
            let asked = w.requested_at_ms.map(|ms| view! { ", asked " <LocalTime ms /> });
            view! {
                <li data-plan=w.plan_id.clone() data-phase=w.phase.clone()>
                    <a href=format!("/plans/{}/approve/{}", w.plan_id, w.phase_id)>{format!("{} · {}", w.plan_name, w.phase)}</a>
                    {format!(
                        " — {} at {}; {} of {} approvals{}",
                        w.environment,
                        percent(w.exposure_bp),
                        w.approvals,
                        w.approvals_required,
                        w.requested_by.as_ref().map(|r| format!(", requested by {r}")).unwrap_or_default()
                    )}
                    {asked}
                </li>
            }
        })
        .collect_view();
    view! { {incidents}{changes}{gates} }
}
