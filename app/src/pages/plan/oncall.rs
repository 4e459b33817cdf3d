//! The plan's incident as on-call sees it (`#oncall`): what opened it, who
//! was paged at which step, who is paged next and when, and the
//! "Acknowledge" that stops the escalation — or who acknowledged it, when.
use leptos::prelude::*;

use super::form::{fields, CommandForm};
use crate::access::{roles_allow, Action};
use crate::dto::identity::CurrentUser;
use crate::dto::plans::OnCallView;
use crate::pages::local_time::LocalTime;

pub fn oncall_card(plan_id: &str, i: &OnCallView, user: Option<&CurrentUser>) -> impl IntoView {
    let acked = i.acked_by.clone().zip(i.acked_ms);
    let paged = if i.paged.is_empty() {
        "nobody yet (the plan names no owners or escalation)".to_string()
    } else {
        i.paged.join(", ")
    };
    let next = match (&acked, i.next_at_ms) {
        (None, Some(at)) => Some(view! {
            <p class="next-page">{format!("Next: {} at ", i.next_page.join(", "))} <LocalTime ms=at /> " unless someone acknowledges it."</p>
        }),
        _ => None,
    };
    let may_ack = user.is_some_and(|u| {
        i.paged.iter().any(|p| p.eq_ignore_ascii_case(&u.username))
            || roles_allow(&u.roles, Action::WritePlans)
            || roles_allow(&u.roles, Action::ApproveGates)
    });
    let answer = match acked {
        Some((by, at)) => view! {
            <p class="ok acked" id="oncall-acked">{format!("Acknowledged by {by} at ")} <LocalTime ms=at /></p>
        }
        .into_any(),
        None if may_ack => {
            let hidden = fields(plan_id, "acknowledge", &[("incident_id", i.id.clone())]);
            view! {
                <CommandForm class="inline acknowledge">
                    {hidden}
                    <button type="submit">"Acknowledge"</button>
                </CommandForm>
            }
            .into_any()
        }
        None => view! { <p class="muted">"Waiting for someone paged to acknowledge it."</p> }.into_any(),
    };
    let class = if i.acked_by.is_some() {
        "card oncall acked"
    } else {
        "card oncall open"
    };
    view! {
        <section class=class id="oncall" data-incident=i.id.clone() data-steps-paged=i.steps_paged.to_string()>
            <h2>{if i.acked_by.is_some() { "Incident (acknowledged)" } else { "Incident: someone must answer" }}</h2>
            <p>
                <LocalTime ms=i.opened_ms /> " · " <strong>{i.summary.clone()}</strong>
                " · " <a href=format!("/audit/{}", i.seq)>"the event"</a>
            </p>
            <p class="paged">{format!("Paged (step {} of {}): {paged}", i.steps_paged, i.steps_total)}</p>
            {next}
            {answer}
        </section>
    }
}
