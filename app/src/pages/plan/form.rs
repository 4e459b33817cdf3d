//! A plan command form, and the hidden fields every one carries. Without
//! JavaScript it posts to `plan_command` and the page comes back with the
//! outcome; in the browser `browser::live`
//! sends it with fetch (`data-command`): its controls are disabled while it
//! is pending (a double click sends one command), its error shows right
//! after it with what was typed kept, and a success is said in the page's
//! outcome line and redraws the plan. What is typed into a form survives
//! another person's change redrawing the page (`browser::drafts`).
use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::plans::RunPlanCommand;

#[component]
pub(crate) fn CommandForm(
    #[prop(into)] class: String,
    #[prop(optional, into)] id: Option<String>,
    children: Children,
) -> impl IntoView {
    let action = ServerAction::<RunPlanCommand>::new();
    view! {
        <ActionForm action attr:class=class attr:id=id attr:data-command="">
            <fieldset class="bare">{children()}</fieldset>
        </ActionForm>
    }
}

/// The hidden fields every plan form carries.
pub(crate) fn fields(
    plan_id: &str,
    command: &'static str,
    extra: &[(&'static str, String)],
) -> impl IntoView {
    let mut all = vec![
        ("plan_id", plan_id.to_string()),
        ("command", command.to_string()),
    ];
    all.extend(extra.iter().cloned());
    all.into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view()
}
