//! The plan page's guardrails: what each watches, from where, its healthy
//! range and action, and its newest reading in each environment — what an
//! operator looks at first when something breaks.
use leptos::prelude::*;

use crate::dto::plans::GuardrailView;
use crate::pages::local_time::LocalTime;

pub fn guardrails_card(guardrails: &[GuardrailView]) -> Option<AnyView> {
    if guardrails.is_empty() {
        return None;
    }
    let rows = guardrails
        .iter()
        .map(|g| {
            let watches = if g.environments.is_empty() {
                "every environment".to_string()
            } else {
                g.environments.join(", ")
            };
            let action = if g.dry_run {
                format!("{} (dry run: recorded only)", g.action)
            } else {
                g.action.clone()
            };
            let readings = if g.readings.is_empty() {
                view! { <span class="muted">"not read yet"</span> }.into_any()
            } else {
                g.readings
                    .iter()
                    .map(|r| {
                        view! {
                            <div class="reading" data-environment=r.environment.clone() data-outcome=r.outcome.clone()>
                                <span class=format!("outcome {}", r.outcome)>{r.outcome.clone()}</span>
                                " " <strong>{r.environment.clone()}</strong>
                                " " <span class="muted">"at " <LocalTime ms=r.at_ms/></span>
                                <div class="detail">{r.detail.clone()}</div>
                            </div>
                        }
                    })
                    .collect_view()
                    .into_any()
            };
            view! {
                <tr data-guardrail=g.name.clone()>
                    <th scope="row"><code>{g.name.clone()}</code></th>
                    <td>{watches}<div class="muted">{g.source.clone()}</div></td>
                    <td>{g.threshold.clone()}</td>
                    <td>{action}</td>
                    <td>{readings}</td>
                </tr>
            }
        })
        .collect_view();
    Some(
        view! {
            <section class="card" id="guardrails">
                <h2>"Guardrails"</h2>
                <table class="events">
                    <thead><tr><th>"Name"</th><th>"Watches"</th><th>"Healthy"</th><th>"On breach"</th><th>"Newest reading"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
        .into_any(),
    )
}
