//! Live regions and forms on server-rendered pages (the plan and job pages).
//!
//! - `[data-live-region]` (with an `id`): redrawn from the page's own HTML,
//!   fetched again, when the change feed named by `[data-live-feed]` says
//!   "changed" and after each command sent from the page. What the person
//!   was typing and choosing, open confirmations and focus survive it
//!   (`drafts`).
//! - `[data-live-regions]` names where to ask for the parts of those
//!   regions that changed instead (`pages::regions`): each
//!   `[data-live-part]` says the sum it was drawn with, and only the parts
//!   drawn with another sum come back; the whole page only when its parts
//!   are not the page's any more.
//! - `form[data-command]`: sent with fetch. While it is pending its controls
//!   are disabled (a double click sends one command). An error is said right
//!   after the form (`p.error.form-error`) and nothing typed is lost; a
//!   success is said in `[data-live-outcome]` (the form's `data-ok`, else the
//!   answer's `message` or the answer itself when it is text; an empty
//!   `data-ok` says nothing; `data-ok-id` names the paragraph), closes the
//!   form's confirmation and redraws the regions. An answer that redirects is followed.
//! - `form[data-live-get]`: a GET form whose fields choose what the page
//!   shows (a range, an environment): a change replaces the address's query
//!   and redraws the regions.
//! - `input[data-from]`: takes the value of the field with that id when its
//!   form is sent (one reason shared by several buttons).
use std::cell::Cell;

use serde::Deserialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    Document, Element, HtmlButtonElement, HtmlDetailsElement, HtmlElement, HtmlFormElement,
    HtmlInputElement, RequestInit, Response, UrlSearchParams,
};

use super::{all, document, drafts, local_times};
use crate::error::AppError;

thread_local! {
    /// A redraw is under way; another was asked for while it ran.
    static REDRAWING: Cell<bool> = const { Cell::new(false) };
    static AGAIN: Cell<bool> = const { Cell::new(false) };
}

pub fn start(doc: &Document) {
    listen(doc, "submit", |ev| {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        if form.has_attribute("data-command") {
            ev.prevent_default();
            // Held before anything else runs: a second click finds it pending.
            if form.has_attribute("data-pending") {
                return;
            }
            let submitter = ev
                .dyn_ref::<web_sys::SubmitEvent>()
                .and_then(|s| s.submitter());
            if let Some(body) = body_of(&form, submitter) {
                let held = hold(&form);
                spawn_local(send(form, body, held));
            }
        } else if form.has_attribute("data-live-get") {
            ev.prevent_default();
            show(&form);
        }
    });
    listen(doc, "change", |ev| {
        let form = ev
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|e| e.closest("form[data-live-get]").ok().flatten());
        if let Some(form) = form {
            show(form.unchecked_ref());
        }
    });
    let feed = doc
        .query_selector("[data-live-feed]")
        .ok()
        .flatten()
        .and_then(|e| e.get_attribute("data-live-feed"));
    if let Some(source) = feed.and_then(|url| web_sys::EventSource::new(&url).ok()) {
        let on_change = Closure::<dyn FnMut(web_sys::Event)>::new(|_| redraw());
        let _ =
            source.add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
        on_change.forget();
    }
}

fn listen(doc: &Document, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let callback = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = doc.add_event_listener_with_callback(event, callback.as_ref().unchecked_ref());
    callback.forget();
}

/// A GET form's choice: into the address (no reload), then the regions.
fn show(form: &HtmlFormElement) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(data) = web_sys::FormData::new_with_form(form) else {
        return;
    };
    let Ok(params) = UrlSearchParams::new_with_str_sequence_sequence(&data) else {
        return;
    };
    let query = String::from(params.to_string());
    let location = window.location();
    let url = format!(
        "{}{}{}{}",
        location.pathname().unwrap_or_default(),
        if query.is_empty() { "" } else { "?" },
        query,
        location.hash().unwrap_or_default()
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    redraw();
}

/// What the form sends: its fields (a shared field copied in first) and the
/// button that sent it.
fn body_of(form: &HtmlFormElement, submitter: Option<HtmlElement>) -> Option<UrlSearchParams> {
    for hidden in all(form, "input[data-from]") {
        let from = hidden
            .get_attribute("data-from")
            .and_then(|id| document()?.get_element_by_id(&id))
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
        if let (Some(from), Some(hidden)) = (from, hidden.dyn_ref::<HtmlInputElement>()) {
            hidden.set_value(&from.value());
        }
    }
    let data = web_sys::FormData::new_with_form(form).ok()?;
    if let Some(button) = submitter
        .as_ref()
        .and_then(|s| s.dyn_ref::<HtmlButtonElement>())
    {
        if !button.name().is_empty() {
            let _ = data.append_with_str(&button.name(), &button.value());
        }
    }
    UrlSearchParams::new_with_str_sequence_sequence(&data).ok()
}

async fn send(form: HtmlFormElement, body: UrlSearchParams, held: Vec<Element>) {
    let answer = post(&form.action(), &body).await;
    let _ = form.remove_attribute("data-pending");
    for control in held {
        let _ = control.remove_attribute("disabled");
    }
    if let Some(old) = form
        .next_element_sibling()
        .filter(|e| e.matches(".form-error").unwrap_or(false))
    {
        old.remove();
    }
    match answer {
        Ok(Answer {
            redirect: Some(to), ..
        }) => {
            if let Some(window) = web_sys::window() {
                let _ = window.location().assign(&to);
            }
        }
        Ok(Answer { ok: true, text, .. }) => succeeded(&form, &text),
        Ok(Answer { status, text, .. }) => {
            let said = serde_json::from_str::<AppError>(&text)
                .map(|e| e.to_string())
                .unwrap_or_else(|_| format!("the console answered {status}; try again"));
            failed(&form, &said);
        }
        Err(_) => failed(
            &form,
            "the console did not answer: check the connection and send it again",
        ),
    }
}

/// Disables the form's fieldsets and buttons while it is sent; returns the
/// ones it disabled.
fn hold(form: &HtmlFormElement) -> Vec<Element> {
    let _ = form.set_attribute("data-pending", "");
    all(form, "fieldset, button")
        .into_iter()
        .filter(|e| !e.has_attribute("disabled"))
        .inspect(|e| {
            let _ = e.set_attribute("disabled", "");
        })
        .collect()
}

struct Answer {
    ok: bool,
    status: u16,
    text: String,
    /// Where the server function sends the browser next.
    redirect: Option<String>,
}

async fn post(url: &str, body: &UrlSearchParams) -> Result<Answer, JsValue> {
    let init = accepting("application/json")?;
    init.set_method("POST");
    init.set_body(body);
    let response = fetch(url, &init).await?;
    let headers = response.headers();
    let redirect = match headers.get("serverfnredirect")? {
        Some(_) => headers.get("location")?,
        None => None,
    };
    let text = JsFuture::from(response.text()?).await?;
    Ok(Answer {
        ok: response.ok(),
        status: response.status(),
        text: text.as_string().unwrap_or_default(),
        redirect,
    })
}

/// A request that asks for `accept` (a server function answers a form with
/// JSON rather than a redirect when asked for it).
fn accepting(accept: &str) -> Result<RequestInit, JsValue> {
    let init = RequestInit::new();
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", accept)?;
    init.set_headers(&headers);
    Ok(init)
}

async fn fetch(url: &str, init: &RequestInit) -> Result<Response, JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    JsFuture::from(window.fetch_with_str_and_init(url, init))
        .await?
        .dyn_into()
}

fn failed(form: &HtmlFormElement, message: &str) {
    let Some(doc) = document() else { return };
    let Ok(p) = doc.create_element("p") else {
        return;
    };
    p.set_class_name("error form-error");
    let _ = p.set_attribute("role", "alert");
    p.set_text_content(Some(message));
    let _ = form.after_with_node_1(&p);
}

fn succeeded(form: &HtmlFormElement, text: &str) {
    #[derive(Deserialize)]
    struct Said {
        message: String,
    }
    // An empty `data-ok`: the redrawn page says it all.
    let message = match form.get_attribute("data-ok") {
        Some(said) => Some(said).filter(|m| !m.is_empty()),
        None => serde_json::from_str::<String>(text)
            .or_else(|_| serde_json::from_str::<Said>(text).map(|s| s.message))
            .ok(),
    };
    let outcome = document().and_then(|d| d.query_selector("[data-live-outcome]").ok().flatten());
    if let (Some(message), Some(outcome), Some(doc)) = (message, outcome, document()) {
        if let Ok(p) = doc.create_element("p") {
            p.set_class_name("ok outcome");
            if let Some(id) = form.get_attribute("data-ok-id") {
                p.set_id(&id);
            }
            p.set_text_content(Some(&message));
            outcome.replace_children_with_node_1(&p);
        }
    }
    form.reset();
    if let Some(details) = form
        .closest("details")
        .ok()
        .flatten()
        .and_then(|d| d.dyn_into::<HtmlDetailsElement>().ok())
    {
        details.set_open(false);
    }
    redraw();
}

/// Redraws the page's regions; asked again while it runs, it runs once more
/// after (never two at once, never one lost).
pub fn redraw() {
    if REDRAWING.get() {
        AGAIN.set(true);
        return;
    }
    REDRAWING.set(true);
    spawn_local(async {
        loop {
            AGAIN.set(false);
            let _ = redraw_once().await;
            if !AGAIN.get() {
                break;
            }
        }
        REDRAWING.set(false);
    });
}

async fn redraw_once() -> Result<(), JsValue> {
    let doc = document().ok_or(JsValue::NULL)?;
    let parts = doc
        .query_selector("[data-live-regions]")?
        .and_then(|e| e.get_attribute("data-live-regions"));
    if let Some(url) = parts {
        if redraw_parts(&doc, &url).await? {
            return Ok(());
        }
    }
    let url = doc.location().ok_or(JsValue::NULL)?.href()?;
    let response = fetch(&url, &accepting("text/html")?).await?;
    // A page that does not load now (signed out, gone) is left as it is.
    if !response.ok() {
        return Ok(());
    }
    let html = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    let fresh =
        web_sys::DomParser::new()?.parse_from_string(&html, web_sys::SupportedType::TextHtml)?;
    let root = doc.document_element().ok_or(JsValue::NULL)?;
    for region in all(&root, "[data-live-region][id]") {
        let Some(new) = fresh.get_element_by_id(&region.id()) else {
            continue;
        };
        let kept = drafts::save(&region);
        region.set_inner_html(&new.inner_html());
        drafts::restore(&region, kept);
        local_times(&region);
    }
    Ok(())
}

/// Redraws the parts whose sum changed, asked of `url` with the page's own
/// query; false when the page must be fetched whole.
async fn redraw_parts(doc: &Document, url: &str) -> Result<bool, JsValue> {
    let root = doc.document_element().ok_or(JsValue::NULL)?;
    let have = all(&root, "[data-live-part][id]")
        .iter()
        .map(|p| {
            format!(
                "{}:{}",
                p.id(),
                p.get_attribute("data-live-sum").unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let location = doc.location().ok_or(JsValue::NULL)?;
    let query = UrlSearchParams::new_with_str(&location.search()?)?;
    query.set("have", &have);
    let asked = format!("{url}&{}", String::from(query.to_string()));
    let response = fetch(&asked, &accepting("application/json")?).await?;
    // A page that does not load now (signed out, gone) is left as it is.
    if !response.ok() {
        return Ok(true);
    }
    let text = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .unwrap_or_default();
    let Ok(redraw) = serde_json::from_str::<crate::pages::regions::Redraw>(&text) else {
        return Ok(false);
    };
    if redraw.reload {
        return Ok(false);
    }
    for drawn in redraw.regions {
        let (Some(part), Some(html)) = (doc.get_element_by_id(&drawn.id), drawn.html) else {
            continue;
        };
        let kept = drafts::save(&part);
        part.set_inner_html(&html);
        part.set_attribute("data-live-sum", &drawn.sum)?;
        drafts::restore(&part, kept);
        local_times(&part);
    }
    Ok(true)
}
