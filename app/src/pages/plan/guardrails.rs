//! The plan page's guardrails: what each watches, from where, its healthy
//! range and action, and its newest reading in each environment (with the
//! server and the exact query it was read with) — what an operator looks
//! at first when something breaks.
use leptos::prelude::*;

use super::form::CommandForm;
use crate::dto::plans::GuardrailView;
use crate::pages::local_time::LocalTime;

/// What a reading says when its guardrail's bound is relative to a baseline
/// that was never captured (`plans::guardrail::judge`).
const NO_BASELINE: &str = "no baseline was captured";

/// The card; `writer`: the plan's id when the reader may act on an active
/// plan (a reading without its baseline then offers to capture one).
pub fn guardrails_card(guardrails: &[GuardrailView], writer: Option<&str>) -> Option<AnyView> {
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
                                {(!r.source.is_empty()).then(|| view! {
                                    <details class="read-from">
                                        <summary>"read from " {r.source.clone()}</summary>
                                        <pre class="query">{r.query.clone()}</pre>
                                    </details>
                                })}
                                {writer.filter(|_| r.detail.contains(NO_BASELINE)).map(|plan_id| capture_form(plan_id, &g.name))}
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

/// "Use the newest reading as the baseline", with why (audited).
fn capture_form(plan_id: &str, guardrail: &str) -> AnyView {
    let label = format!("Why the newest reading of {guardrail} is its baseline");
    let (plan_id, guardrail) = (plan_id.to_string(), guardrail.to_string());
    view! {
        <CommandForm class="inline capture-baseline">
            <input type="hidden" name="plan_id" value=plan_id />
            <input type="hidden" name="command" value="capture_baseline" />
            <input type="hidden" name="guardrail" value=guardrail />
            <input type="text" name="reason" required placeholder="Why this reading is the baseline" aria-label=label />
            <button type="submit" class="secondary">"Use the newest reading as the baseline"</button>
        </CommandForm>
    }
    .into_any()
}
