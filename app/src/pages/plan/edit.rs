//! The plan file editor: the plan's TOML exactly as stored, validated on save
//! with every problem's line and column. Phases that have started keep their
//! history; the server refuses an edit that would rewrite it.
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::plans::{load_plan_source, SavePlanSource};

#[component]
pub fn PlanEdit() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let save = ServerAction::<SavePlanSource>::new();
    let source = Resource::new(id, load_plan_source);
    view! {
        <Title text="Edit plan" />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || source.get().map(|r| match r {
                Err(e) => view! { <section class="card"><p class="error" id="edit-error">{e.to_string()}</p></section> }.into_any(),
                Ok(src) => view! {
                    <section class="card">
                        <div class="card-head">
                            <h1>"Edit " {src.name.clone()}</h1>
                            <a href=format!("/plans/{}", src.id)>"Back to the plan"</a>
                        </div>
                        <p class="muted">
                            "The plan file (see docs/plan-format.md). Saving validates it; a change to a phase's "
                            "configuration or checklist dismisses the approvals given on the old one."
                        </p>
                        <ActionForm action=save attr:id="edit-plan" attr:class="stack" attr:data-command="">
                            <input type="hidden" name="id" value=src.id.clone() />
                            <input type="hidden" name="revision" value=src.revision.to_string() />
                            <textarea name="source" id="plan-source" rows="32" spellcheck="false" aria-label="Plan file (TOML)" inner_html=textarea_html(&src.source)></textarea>
                            <button type="submit">"Save"</button>
                        </ActionForm>
                        {move || save.value().get().and_then(|r| r.err()).map(|e| view! {
                            <pre class="error" id="edit-error">{e.to_string()}</pre>
                        })}
                    </section>
                }.into_any(),
            })}
        </Suspense>
    }
}

/// `text` as the content of a `<textarea>`, which Leptos writes out raw (it
/// escapes no raw-text element's children): `&` and `<` escaped, so the
/// file can never close the element (`</textarea><script>…`), and a newline
/// in front, which the HTML parser drops, so a leading newline of the file
/// survives. The browser shows and submits the text exactly as given.
pub fn textarea_html(text: &str) -> String {
    format!("\n{}", text.replace('&', "&amp;").replace('<', "&lt;"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_plan_file_cannot_close_the_textarea() {
        let html = super::textarea_html("# </textarea><script>alert(1)</script> & &lt;");
        assert_eq!(
            html,
            "\n# &lt;/textarea>&lt;script>alert(1)&lt;/script> &amp; &amp;lt;"
        );
        assert!(!html.contains("</"));
    }
}
