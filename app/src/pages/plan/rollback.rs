//! The plan page's rollback panel: what each rollback would do now (each
//! environment's exposure before → after, the runbook steps), and the form
//! that takes one after the plan's name is typed. A finished plan says so.
use leptos::prelude::*;

use super::form::CommandForm;
use crate::dto::plans::{PlanStatus, RollbackKind, RollbackPreview};

/// The rollback panel of a reader who may write plans. Each rollback needs
/// the plan's name typed and a reason.
pub(crate) fn rollback_panel(
    plan_id: &str,
    status: PlanStatus,
    rollbacks: &[RollbackPreview],
) -> AnyView {
    // Whether some rollback is unsafe after an irreversible phase: the form
    // then asks for "roll back anyway".
    let past_irreversible = rollbacks.iter().any(|r| r.unsafe_because.is_some());
    let plan_id = plan_id.to_string();
    if status.is_final() {
        let completed = status == PlanStatus::Completed;
        return view! {
            <section class="card" id="rollback" data-finished=status.as_str()>
                <h2>{if completed { "Kill switch and single organisations" } else { "Roll back" }}</h2>
                <p class="muted">{if completed {
                    "This plan is completed: the feature is launched and its flag stays as it is. The kill switch (emergency) turns it off everywhere; one organisation can be turned off alone (and restored above).".to_string()
                } else {
                    format!(
                        "This plan is {}: no phase of it runs any more. Organisations rolled back alone can still be restored above.",
                        status.label()
                    )
                }}</p>
                {completed.then(|| view! {
                    {rollback_preview(rollbacks)}
                    <RollbackForm plan_id kinds=&COMPLETED past_irreversible />
                })}
            </section>
        }
        .into_any();
    }
    let continue_form = view! { <ContinueForm plan_id=plan_id.clone() /> };
    view! {
        <section class="card danger-zone" id="rollback">
            <h2>"Roll back"</h2>
            {rollback_preview(rollbacks)}
            <RollbackForm plan_id kinds=&RUNNING past_irreversible />
            {continue_form}
        </section>
    }
    .into_any()
}

/// The rollbacks a running plan offers (value, label), the first chosen.
const RUNNING: [(&str, &str); 5] = [
    ("standard", "Standard: the running phase's environment back to where it was before the phase (or 0 %); the plan stays active"),
    ("pause", "Pause at 0 %: the running phase's environment off until you resume; the plan stays active"),
    ("emergency", "Emergency: flag off in every environment, jobs paused, plan rolled back"),
    ("entity", "One organisation: off for it in every environment (can be restored)"),
    ("abort", "Abort the plan: flag off in every environment"),
];

/// The rollbacks a completed plan offers.
const COMPLETED: [(&str, &str); 2] = [
    (
        "entity",
        "One organisation: off for it in every environment (can be restored)",
    ),
    (
        "emergency",
        "Kill switch (emergency): flag off in every environment, plan rolled back",
    ),
];

/// The form that takes a rollback: which (`kinds`, the first chosen), for
/// whom (one organisation), why, and the plan's name typed.
#[component]
fn RollbackForm(
    plan_id: String,
    kinds: &'static [(&'static str, &'static str)],
    past_irreversible: bool,
) -> impl IntoView {
    let choices = kinds
        .iter()
        .enumerate()
        .map(|(i, (value, label))| view! {
            <label><input type="radio" name="kind" value=*value checked=i == 0 /> " " {*label}</label>
        })
        .collect_view();
    view! {
        <CommandForm class="stack" id="rollback-form">
            <input type="hidden" name="plan_id" value=plan_id />
            <input type="hidden" name="command" value="rollback" />
            <fieldset class="roles">
                <legend>"What"</legend>
                {choices}
            </fieldset>
            <label>"Organisation id (one-organisation rollback only)" <input name="entity" maxlength="256" /></label>
            {past_irreversible.then(AcceptIrreversible)}
            <ReasonAndName />
            <button type="submit" class="danger">"Roll back"</button>
        </CommandForm>
    }
}

/// The other answer to an issue: go on, and say why (seed 004's matrix:
/// "Cache unavailable — continue, it has a fallback"). Recorded in the
/// trail as `plan.continue`; nothing else changes.
#[component]
fn ContinueForm(plan_id: String) -> impl IntoView {
    view! {
        <details class="continue" id="continue">
            <summary>"Continue despite an issue (record the decision)"</summary>
            <CommandForm class="stack" id="continue-form">
                <input type="hidden" name="plan_id" value=plan_id />
                <input type="hidden" name="command" value="continue" />
                <label>"Issue seen" <input name="comment" required maxlength="2000" placeholder="e.g. cache unavailable; the application falls back to the database" /></label>
                <label>"Why the rollout goes on" <input name="reason" required maxlength="2000" /></label>
                <button type="submit" class="secondary">"Record: continue"</button>
            </CommandForm>
        </details>
    }
}

/// After an irreversible phase: the box that takes an unsafe rollback
/// anyway (the preview above says which are unsafe and why).
#[component]
fn AcceptIrreversible() -> impl IntoView {
    view! {
        <label class="warning" id="accept-irreversible">
            <input type="checkbox" name="accept_irreversible" value="true" />
            " Roll back anyway: I know a rollback marked unsafe above undoes what an irreversible phase depends on (say why in the reason)"
        </label>
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
fn rollback_preview(rollbacks: &[RollbackPreview]) -> impl IntoView {
    let rows = rollbacks
        .iter()
        .map(|r| {
            let effect = match (&r.unavailable, r.kind) {
                (Some(why), _) => view! { <span class="muted">{format!("not now: {why}")}</span> }.into_any(),
                (None, RollbackKind::Entity) => view! {
                    <span class="muted">"the organisation: on → off in every environment"</span>
                }.into_any(),
                (None, _) => r
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
            let warning = r.unsafe_because.clone().map(|why| view! {
                <div class="warning unsafe" data-unsafe=r.kind.as_str()>{format!("⚠ not safe any more: {why}")}</div>
            });
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
                <tr data-kind=r.kind.as_str()><th scope="row">{r.kind.as_str()}</th><td>{effect}{warning}</td></tr>
                {steps}
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="preview" id="rollback-preview">
                <caption>"What each rollback does now (exposure before → after)"</caption>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
