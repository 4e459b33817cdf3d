//! A plan command form with an action of its own: its error shows right
//! under it (what was typed and chosen stays, since nothing re-renders on an
//! error), its controls are disabled while its request is pending (a double
//! click sends one command), and a success reloads the plan and reports
//! once, in the page's outcome line. What is typed into it survives the
//! plan's live reloads (another person's tick re-renders the phase cards):
//! it is kept as a draft for the page and put back, with its confirmation
//! left open, when the form is drawn again.
use std::collections::HashMap;

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::plans::RunPlanCommand;

/// What the plan page shares with its forms: bump `refresh` to reload the
/// plan; `outcome` is the last success message; `drafts` what was typed into
/// forms not sent yet, by form (its hidden fields) and field name.
#[derive(Clone, Copy)]
pub(crate) struct PlanCtx {
    pub refresh: RwSignal<u64>,
    pub outcome: RwSignal<Option<String>>,
    pub drafts: StoredValue<HashMap<String, String>>,
}

#[component]
pub(crate) fn CommandForm(
    #[prop(into)] class: String,
    #[prop(optional, into)] id: Option<String>,
    children: Children,
) -> impl IntoView {
    let ctx = expect_context::<PlanCtx>();
    let action = ServerAction::<RunPlanCommand>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(o)) = action.value().get() {
            #[cfg(feature = "hydrate")]
            if let Some(f) = form.get_untracked() {
                drafts::forget(ctx.drafts, &f);
            }
            ctx.outcome.set(Some(o.message));
            ctx.refresh.update(|n| *n += 1);
        }
    });
    // Drawn again after a reload: put back what was typed.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(f) = form.get() {
            drafts::restore(ctx.drafts, &f);
        }
    });
    let keep = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        drafts::keep(ctx.drafts, &ev);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, ctx.drafts);
    };
    // Only what this form sent (an error carried in the URL from a submit
    // before hydration belongs to the page, not to every form).
    let error = move || {
        (action.version().get() > 0)
            .then(|| action.value().get().and_then(|r| r.err()))
            .flatten()
            .map(|e| view! { <p class="error form-error" role="alert">{e.to_string()}</p> })
    };
    view! {
        <ActionForm action node_ref=form attr:class=class attr:id=id>
            <fieldset class="bare" disabled=move || action.pending().get() on:input=keep on:change=keep>
                {children()}
            </fieldset>
        </ActionForm>
        {error}
    }
}

/// Drafts in the browser: keyed by the form's hidden fields (which command,
/// phase, item; not the evidence or revision it carries, which another
/// person's change moves) and the field's name.
#[cfg(feature = "hydrate")]
mod drafts {
    use std::collections::HashMap;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{HtmlFormElement, HtmlInputElement, HtmlTextAreaElement};

    fn fields(form: &HtmlFormElement, selector: &str) -> Vec<web_sys::Element> {
        let Ok(list) = form.query_selector_all(selector) else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i)?.dyn_into::<web_sys::Element>().ok())
            .collect()
    }

    fn key(form: &HtmlFormElement) -> String {
        fields(form, "input[type=hidden]")
            .into_iter()
            .filter_map(|e| e.dyn_into::<HtmlInputElement>().ok())
            .filter(|i| !matches!(i.name().as_str(), "evidence" | "revision"))
            .map(|i| format!("{}={}&", i.name(), i.value()))
            .collect()
    }

    /// A text's value, or a box's "checked"/"" (radios: their value).
    pub fn keep(drafts: StoredValue<HashMap<String, String>>, ev: &web_sys::Event) {
        let Some(target) = ev.target() else { return };
        let (form, name, value) = if let Some(i) = target.dyn_ref::<HtmlInputElement>() {
            let value = match i.type_().as_str() {
                "checkbox" => {
                    if i.checked() {
                        "checked".into()
                    } else {
                        String::new()
                    }
                }
                "radio" if !i.checked() => return,
                _ => i.value(),
            };
            (i.form(), i.name(), value)
        } else if let Some(t) = target.dyn_ref::<HtmlTextAreaElement>() {
            (t.form(), t.name(), t.value())
        } else {
            return;
        };
        let Some(form) = form else { return };
        let k = format!("{}{name}", key(&form));
        drafts.update_value(|d| {
            d.insert(k, value);
        });
    }

    pub fn restore(drafts: StoredValue<HashMap<String, String>>, form: &HtmlFormElement) {
        let prefix = key(form);
        let mut restored = false;
        drafts.with_value(|d| {
            for e in fields(form, "input:not([type=hidden]), textarea") {
                if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
                    let Some(v) = d.get(&format!("{prefix}{}", i.name())) else {
                        continue;
                    };
                    match i.type_().as_str() {
                        "checkbox" => i.set_checked(v == "checked"),
                        "radio" => i.set_checked(*v == i.value()),
                        _ => i.set_value(v),
                    }
                    restored |= !v.is_empty();
                } else if let Some(t) = e.dyn_ref::<HtmlTextAreaElement>() {
                    if let Some(v) = d.get(&format!("{prefix}{}", t.name())) {
                        t.set_value(v);
                        restored |= !v.is_empty();
                    }
                }
            }
        });
        // Its confirmation stays open for the person typing into it.
        if restored {
            if let Ok(Some(details)) = form.closest("details") {
                if let Some(d) = details.dyn_ref::<web_sys::HtmlDetailsElement>() {
                    d.set_open(true);
                }
            }
        }
    }

    pub fn forget(drafts: StoredValue<HashMap<String, String>>, form: &HtmlFormElement) {
        let prefix = key(form);
        drafts.update_value(|d| d.retain(|k, _| !k.starts_with(&prefix)));
    }
}
