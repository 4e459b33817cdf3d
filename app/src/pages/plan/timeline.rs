//! The plan's timeline on the plan page: the server-drawn chart (exposure per
//! environment, guardrails against their bounds, markers), a range to zoom
//! to, and the audit events of that range under it. Reloads with the plan
//! (its change feed), so a breach and the rollback it causes appear without
//! a reload of the page.
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::plans::load_timeline;
use crate::pages::audit::{reason_of, where_of};
use crate::pages::local_time::LocalTime;

/// Where an event happened and why, in a few words: "production 5% ·
/// production — error ratio above 1 %".
fn gist(details: &str) -> String {
    match (where_of(details), reason_of(details)) {
        (w, r) if r.is_empty() => w,
        (w, r) if w.is_empty() => r,
        (w, r) => format!("{w} — {r}"),
    }
}

const RANGES: [(&str, &str); 5] = [
    ("", "whole plan"),
    ("1", "last hour"),
    ("6", "last 6 h"),
    ("24", "last 24 h"),
    ("168", "last 7 days"),
];

#[component]
pub fn TimelineCard(plan_id: String) -> impl IntoView {
    let query = use_query_map();
    let every = format!("/audit?subject=plan:{plan_id}");
    let chosen = query.read_untracked().get("hours").unwrap_or_default();
    let hours = chosen.parse().ok();
    let timeline = Resource::new(
        move || (plan_id.clone(), hours),
        |(id, h)| load_timeline(id, h),
    );
    let options = RANGES
        .iter()
        .map(|(value, label)| view! { <option value=*value selected=*value == chosen>{*label}</option> })
        .collect_view();
    // A GET form: the range is in the address (works without JavaScript;
    // in the browser a change redraws the page in place).
    view! {
        <section class="card" id="timeline">
            <div class="card-head">
                <h2>"Timeline"</h2>
                <form method="get" data-live-get>
                    <label>"Range " <select name="hours" id="timeline-range">{options}</select></label>
                    <noscript><button type="submit" class="secondary">"Show"</button></noscript>
                </form>
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
                                    <td class="wrap">{gist(&e.details)}</td>
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
                                <p><a href=every.clone()>"Every event of this plan in the audit trail"</a></p>
                            </details>
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
