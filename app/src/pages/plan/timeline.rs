//! The plan's timeline on the plan page: the server-drawn chart (exposure per
//! environment, guardrails against their bounds, markers), a range to zoom
//! to, and the audit events of that range under it. Reloads with the plan
//! (its change feed), so a breach and the rollback it causes appear without
//! a reload of the page.
use leptos::prelude::*;

use crate::dto::plans::TimelineView;
use crate::error::AppError;
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

/// The card for the range `hours` chosen (empty: the whole plan), around
/// its two live parts: the chart and the events under it.
pub fn timeline_card(hours: &str, parts: impl IntoView) -> impl IntoView {
    let options = RANGES
        .iter()
        .map(|(value, label)| view! { <option value=*value selected=*value == hours>{*label}</option> })
        .collect_view();
    // A GET form: the range is in the address (works without JavaScript;
    // in the browser a change redraws the parts in place).
    view! {
        <section class="card" id="timeline">
            <div class="card-head">
                <h2>"Timeline"</h2>
                <form method="get" data-live-get>
                    <label>"Range " <select name="hours" id="timeline-range">{options}</select></label>
                    <noscript><button type="submit" class="secondary">"Show"</button></noscript>
                </form>
            </div>
            {parts}
        </section>
    }
}

/// The chart (or why there is none).
pub fn chart(timeline: &Result<TimelineView, AppError>) -> AnyView {
    match timeline {
        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
        Ok(t) => view! { <div class="chart" id="timeline-chart" inner_html=t.svg.clone()></div> }
            .into_any(),
    }
}

/// The range's events, newest first.
pub fn events(plan_id: &str, timeline: &Result<TimelineView, AppError>) -> Option<AnyView> {
    let t = timeline.as_ref().ok()?;
    let every = format!("/audit?subject=plan:{plan_id}");
    let rows = t
        .events
        .iter()
        .map(|e| {
            view! {
                <tr data-action=e.action.clone()>
                    <td class="nowrap"><LocalTime ms=e.at_ms/></td>
                    <td>{format!("{} ({})", e.actor_name, e.actor_kind)}</td>
                    <td><a href=format!("/audit/{}", e.seq)>{e.action.clone()}</a></td>
                    <td class="wrap">{gist(&e.details)}</td>
                </tr>
            }
        })
        .collect_view();
    Some(
        view! {
            <details class="timeline-events" open>
                <summary>{if t.events.len() < t.events_in_range {
                    format!("the newest {} of {} events in this range", t.events.len(), t.events_in_range)
                } else {
                    format!("{} events in this range", t.events_in_range)
                }}</summary>
                <table class="events" id="timeline-events"><tbody>{rows}</tbody></table>
                <p><a href=every>"Every event of this plan in the audit trail"</a></p>
            </details>
        }
        .into_any(),
    )
}
