//! Pilot allow lists on the plan page: who is on each environment's allow
//! list, forms to take one off and to add entities by hand, and on a phase
//! with an `allow_query` the button that loads its pilot from the target.
use leptos::prelude::*;

use super::form::fields;
use super::form::CommandForm;
use crate::dto::plans::{EnvFlagView, PhaseView};

/// The allow lists, and (for those who may change them) the add form.
pub fn allow_lists(
    plan_id: &str,
    environments: &[EnvFlagView],
    can_write: bool,
    open: bool,
) -> impl IntoView {
    let lists = environments
        .iter()
        .filter(|e| !e.allow.is_empty())
        .map(|e| {
            let entities = e
                .allow
                .iter()
                .map(|entity| view! { <li data-allowed=entity.clone()><code>{entity.clone()}</code></li> })
                .collect_view();
            view! {
                <li data-environment=e.environment.clone()>
                    <strong>{format!("{} ({})", e.environment, e.allow.len())}</strong>
                    <ul class="chips">{entities}</ul>
                </li>
            }
        })
        .collect_view();
    let remove = (can_write && environments.iter().any(|e| !e.allow.is_empty())).then(|| {
        let hidden = fields(plan_id, "disallow", &[]);
        let options = environments
            .iter()
            .filter(|e| !e.allow.is_empty())
            .map(|e| view! { <option value=e.environment.clone()>{e.environment.clone()}</option> })
            .collect_view();
        view! {
            <CommandForm class="inline" id="disallow-form">
                {hidden}
                <select name="environment" aria-label="Environment">{options}</select>
                <input name="entity" required maxlength="200" placeholder="entity id" aria-label="Entity to remove" />
                <input name="reason" required maxlength="2000" placeholder="Why remove" aria-label="Why remove it" />
                <button type="submit" class="secondary">"Take off the allow list"</button>
            </CommandForm>
        }
    });
    let options = environments
        .iter()
        .map(|e| view! { <option value=e.environment.clone()>{e.environment.clone()}</option> })
        .collect_view();
    let add = (can_write && open).then(|| {
        let hidden = fields(plan_id, "allow", &[]);
        view! {
            <details class="allow-add">
                <summary>"Add pilot entities"</summary>
                <CommandForm class="stack" id="allow-form">
                    {hidden}
                    <label>"Environment " <select name="environment">{options}</select></label>
                    <textarea name="entity" rows="3" required placeholder="entity ids, separated by commas, spaces or lines" aria-label="Entity ids"></textarea>
                    <input name="reason" required maxlength="2000" placeholder="Why (goes into the audit trail)" aria-label="Why add them" />
                    <button type="submit">"Add to the allow list"</button>
                </CommandForm>
            </details>
        }
    });
    view! {
        <dt>"Pilot (allow list)"</dt>
        <dd>
            <ul class="plain" id="flag-allow">{lists}</ul>
            {environments.iter().all(|e| e.allow.is_empty()).then(|| view! { <span class="muted">"nobody on an allow list"</span> })}
            {remove}
            {add}
        </dd>
    }
}

/// What a phase says about its pilot, and the button that loads its query.
pub fn phase_pilot(plan_id: &str, p: &PhaseView, can_write: bool, open: bool) -> Option<AnyView> {
    if p.pilot.is_empty() && p.allow_query_target.is_none() {
        return None;
    }
    let listed = (!p.pilot.is_empty()).then(|| {
        view! { <p class="muted">{format!("Starting it allows: {}", p.pilot.join(", "))}</p> }
    });
    let load = p.allow_query_target.clone().filter(|_| can_write && open).map(|target| {
        let hidden = fields(plan_id, "load_allow_query", &[("phase_id", p.id.clone())]);
        let label = format!("Load the pilot from target {target}");
        view! {
            <CommandForm class="inline load-pilot">
                {hidden}
                <input name="reason" required maxlength="2000" placeholder="Why load it now" aria-label="Why load the pilot" />
                <button type="submit" class="secondary">{label}</button>
            </CommandForm>
        }
    });
    Some(view! { <div class="pilot">{listed}{load}</div> }.into_any())
}
