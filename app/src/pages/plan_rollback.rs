//! The plan page's rollback panel: what each rollback would do now (each
//! environment's exposure before → after, the runbook steps), and the form
//! that takes one after the plan's name is typed. A finished plan says so.
use leptos::prelude::*;

use super::command_form::CommandForm;
use crate::access::Action;
use crate::dto::plans::{PlanStatus, PlanView};

/// The rollback buttons, outside the live view so typing is never
/// interrupted by a reload. Each needs the plan's name typed and a reason.
#[component]
pub(crate) fn RollbackPanel(
    plan_id: Signal<String>,
    plan: Resource<Result<PlanView, crate::error::AppError>>,
) -> impl IntoView {
    let can_write = crate::may(Action::WritePlans);
    // Changes only when the plan finishes: the form is not rebuilt (and what
    // was typed not lost) on every reload of the plan.
    let finished = Memo::new(move |_| {
        plan.get()
            .and_then(|r| r.ok())
            .map(|p| p.summary.status.is_final().then_some(p.summary.status))
    });
    view! {
        <Suspense fallback=|| ()>
            {move || can_write().then(|| match finished.get() {
                None => ().into_any(),
                Some(Some(status)) => view! {
                    <section class="card" id="rollback" data-finished=status.as_str()>
                        <h2>"Roll back"</h2>
                        <p class="muted">{format!(
                            "This plan is {}: no phase of it runs any more. Organisations rolled back alone can still be restored above.",
                            status.label()
                        )}</p>
                        {(status == PlanStatus::Completed).then(|| view! {
                            <CommandForm class="stack" id="rollback-form">
                                <input type="hidden" name="plan_id" value=plan_id />
                                <input type="hidden" name="command" value="rollback" />
                                <input type="hidden" name="kind" value="entity" />
                                <p>"The flag stays on; one organisation can still be turned off alone (and restored)."</p>
                                <label>"Organisation id" <input name="entity" required maxlength="256" /></label>
                                <ReasonAndName />
                                <button type="submit" class="danger">"Roll back this organisation"</button>
                            </CommandForm>
                        })}
                    </section>
                }.into_any(),
                Some(None) => view! {
                <section class="card danger-zone" id="rollback">
                    <h2>"Roll back"</h2>
                    <Transition fallback=|| ()>
                        {move || plan.get().and_then(|r| r.ok()).map(|p| rollback_preview(&p))}
                    </Transition>
                    <CommandForm class="stack" id="rollback-form">
                        <input type="hidden" name="plan_id" value=plan_id />
                        <input type="hidden" name="command" value="rollback" />
                        <fieldset class="roles">
                            <legend>"What"</legend>
                            <label><input type="radio" name="kind" value="standard" checked /> "Standard: the running phase's environment back to where it was before the phase (or 0 %); the plan stays active"</label>
                            <label><input type="radio" name="kind" value="pause" /> "Pause at 0 %: the running phase's environment off until you resume; the plan stays active"</label>
                            <label><input type="radio" name="kind" value="emergency" /> "Emergency: flag off in every environment, jobs paused, plan rolled back"</label>
                            <label><input type="radio" name="kind" value="entity" /> "One organisation: off for it in every environment (can be restored)"</label>
                            <label><input type="radio" name="kind" value="abort" /> "Abort the plan: flag off in every environment"</label>
                        </fieldset>
                        <label>"Organisation id (one-organisation rollback only)" <input name="entity" maxlength="256" /></label>
                        <ReasonAndName />
                        <button type="submit" class="danger">"Roll back"</button>
                    </CommandForm>
                </section>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// What every rollback asks for before it is sent: why, and the plan's name
/// typed exactly.
#[component]
fn ReasonAndName() -> impl IntoView {
    view! {
        <label>"Reason" <input name="reason" required maxlength="2000" /></label>
        <label>"Type the plan's name to confirm" <input name="confirm" required autocomplete="off" /></label>
    }
}

/// Each rollback's effect on each environment, before → after, shown above
/// the typed confirmation.
fn rollback_preview(plan: &PlanView) -> impl IntoView {
    let rows = plan
        .rollbacks
        .iter()
        .map(|r| {
            let effect = match &r.unavailable {
                Some(why) => view! { <span class="muted">{format!("not now: {why}")}</span> }.into_any(),
                None => r
                    .changes
                    .iter()
                    .map(|c| view! {
                        <span
                            class=if c.changes_anything() { "change" } else { "change unchanged muted" }
                            data-environment=c.environment.clone()
                        >
                            {c.describe()}
                        </span>
                    })
                    .collect_view()
                    .into_any(),
            };
            let steps = (!r.runbook.is_empty()).then(|| {
                let items = r.runbook.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view();
                view! {
                    <tr class="runbook-steps" data-steps-of=r.kind.as_str()>
                        <td></td>
                        <td><span class="muted">"then, by hand:"</span><ol class="runbook">{items}</ol></td>
                    </tr>
                }
            });
            view! {
                <tr data-kind=r.kind.as_str()><th scope="row">{r.kind.as_str()}</th><td>{effect}</td></tr>
                {steps}
            }
        })
        .collect_view();
    view! {
        <table class="preview" id="rollback-preview">
            <caption>"What each rollback does now (exposure before → after)"</caption>
            <tbody>
                {rows}
                <tr data-kind="entity"><th scope="row">"entity"</th><td><span class="muted">"the organisation: on → off in every environment"</span></td></tr>
            </tbody>
        </table>
    }
}
