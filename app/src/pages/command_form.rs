//! A plan command form with an action of its own: its error shows right
//! under it (what was typed and chosen stays, since nothing re-renders on an
//! error), its controls are disabled while its request is pending (a double
//! click sends one command), and a success reloads the plan and reports
//! once, in the page's outcome line.
use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::plans::RunPlanCommand;

/// What the plan page shares with its forms: bump `refresh` to reload the
/// plan; `outcome` is the last success message.
#[derive(Clone, Copy)]
pub(crate) struct PlanCtx {
    pub refresh: RwSignal<u64>,
    pub outcome: RwSignal<Option<String>>,
}

#[component]
pub(crate) fn CommandForm(
    #[prop(into)] class: String,
    #[prop(optional, into)] id: Option<String>,
    children: Children,
) -> impl IntoView {
    let ctx = expect_context::<PlanCtx>();
    let action = ServerAction::<RunPlanCommand>::new();
    Effect::new(move |_| {
        if let Some(Ok(o)) = action.value().get() {
            ctx.outcome.set(Some(o.message));
            ctx.refresh.update(|n| *n += 1);
        }
    });
    // Only what this form sent (an error carried in the URL from a submit
    // before hydration belongs to the page, not to every form).
    let error = move || {
        (action.version().get() > 0)
            .then(|| action.value().get().and_then(|r| r.err()))
            .flatten()
            .map(|e| view! { <p class="error form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <ActionForm action attr:class=class attr:id=id>
            <fieldset class="bare" disabled=move || action.pending().get()>
                {children()}
            </fieldset>
        </ActionForm>
        {error}
    }
}
