//! The plan's timeline on the plan page: the server-drawn chart (exposure per
//! environment, guardrails against their bounds, markers), a range to zoom
//! to, and the audit events of that range under it. Reloads with the plan
//! (its change feed), so a breach and the rollback it causes appear without
//! a reload of the page.
use leptos::prelude::*;

use crate::api::plans::load_timeline;
use crate::pages::local_time::LocalTime;

const RANGES: [(&str, &str); 5] = [
    ("", "whole plan"),
    ("1", "last hour"),
    ("6", "last 6 h"),
    ("24", "last 24 h"),
    ("168", "last 7 days"),
];

#[component]
pub fn TimelineCard(plan_id: Signal<String>, refresh: RwSignal<u64>) -> impl IntoView {
    let hours = RwSignal::new(String::new());
    let timeline = Resource::new(
        move || (plan_id.get(), hours.get(), refresh.get()),
        |(id, h, _)| load_timeline(id, h.parse().ok()),
    );
    let options = RANGES
        .iter()
        .map(|(value, label)| view! { <option value=*value>{*label}</option> })
        .collect_view();
    view! {
        <section class="card" id="timeline">
            <div class="card-head">
                <h2>"Timeline"</h2>
                <label>
                    "Range "
                    <select id="timeline-range" on:change=move |ev| hours.set(event_target_value(&ev))>{options}</select>
                </label>
            </div>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || timeline.get().map(|r| match r {
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    Ok(t) => {
                        let rows = t
                            .events
                            .iter()
                            .map(|e| view! {
                                <tr data-action=e.action.clone()>
                                    <td class="nowrap"><LocalTime ms=e.at_ms/></td>
                                    <td>{format!("{} ({})", e.actor_name, e.actor_kind)}</td>
                                    <td><a href=format!("/audit/{}", e.seq)>{e.action.clone()}</a></td>
                                </tr>
                            })
                            .collect_view();
                        view! {
                            <div class="chart" id="timeline-chart" inner_html=t.svg.clone()></div>
                            <details class="timeline-events" open>
                                <summary>{if t.events.len() < t.events_in_range {
                                    format!("the newest {} of {} events in this range", t.events.len(), t.events_in_range)
                                } else {
                                    format!("{} events in this range", t.events_in_range)
                                }}</summary>
                                <table class="events" id="timeline-events"><tbody>{rows}</tbody></table>
                                <p><a href=move || format!("/audit?subject=plan:{}", plan_id.get())>"Every event of this plan in the audit trail"</a></p>
                            </details>
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
