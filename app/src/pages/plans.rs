//! Plans: every rollout plan with its status, current phase and exposure; and
//! a new plan from a built-in template (for those who may write plans).
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::access::Action;
use crate::api::plans::{list_plans, list_templates, CreatePlan};
use crate::dto::plans::PlanSummary;
use crate::pages::listing::Listing;
use crate::pages::local_time::LocalTime;

#[component]
pub fn Plans() -> impl IntoView {
    let plans = Resource::new(|| (), |_| list_plans());
    let can_write = crate::may(Action::WritePlans);
    view! {
        <Title text="Plans" />
        <section class="card">
            <h1>"Rollout plans"</h1>
            <Listing list=plans id="plans" empty="No plans yet. Start one from a template below."
                head=&["Plan", "Status", "Phase", "Flag", "Exposure", "Changed"]
                rows_from_items_alone=true
                row=|p: PlanSummary| view! {
                    <tr data-plan=p.name.clone()>
                        <td><a href=format!("/plans/{}", p.id)>{p.name.clone()}</a></td>
                        <td><span class=format!("status {}", p.status.as_str())>{p.status.label()}</span></td>
                        <td>{p.current_phase.clone().unwrap_or_else(|| "—".into())} <span class="muted">{format!(" ({}/{} done)", p.phases_done, p.phases_total)}</span></td>
                        <td><code>{p.flag_key.clone()}</code></td>
                        <td class="exposures">{p.exposures.iter().map(|e| format!("{} {}", e.environment, e.text())).collect::<Vec<_>>().join(" · ")}</td>
                        <td class="nowrap"><LocalTime ms=p.updated_at_ms/></td>
                    </tr>
                } />
        </section>
        <Suspense fallback=|| ()>
            {move || can_write().then(|| view! { <NewPlan /> })}
        </Suspense>
    }
}

/// A plan from a template: the template gives phases, checklists and gates;
/// the person names the plan and its flag.
#[component]
fn NewPlan() -> impl IntoView {
    let create = ServerAction::<CreatePlan>::new();
    let templates = Resource::new(|| (), |_| list_templates());
    view! {
        <section class="card">
            <h2>"New plan from a template"</h2>
            <ActionForm action=create attr:id="new-plan" attr:class="stack" attr:data-command="">
                <Suspense fallback=|| view! { <p>"Loading templates…"</p> }>
                    {move || templates.get().map(|r| match r {
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        Ok(list) => view! {
                            <fieldset class="templates">
                                <legend>"Template"</legend>
                                {list.into_iter().enumerate().map(|(i, t)| view! {
                                    <label class="template">
                                        <input type="radio" name="template" value=t.slug.clone() checked=i == 0 />
                                        <strong>{t.name.clone()}</strong>
                                        <span class="muted">{t.phases.join(" → ")}</span>
                                    </label>
                                }).collect_view()}
                            </fieldset>
                        }.into_any(),
                    })}
                </Suspense>
                <label>"Plan name (rollback confirmations ask you to type it)" <input name="name" required maxlength="200" /></label>
                <label>"Flag key (a-z, 0-9, _ - .)" <input name="flag_key" required maxlength="64" pattern="[a-z0-9_.\\-]+" /></label>
                <button type="submit">"Create plan"</button>
            </ActionForm>
            {move || create.value().get().and_then(|r| r.err()).map(|e| view! {
                <pre class="error" id="new-plan-error">{e.to_string()}</pre>
            })}
        </section>
    }
}
