//! What the browser does on pages the server rendered (everything outside
//! the islands): times in the reader's zone, a clean address after a form
//! sent without JavaScript, and the live regions and forms of `live`.
//! Every page works without it; this only makes them quicker to use.
mod drafts;
mod inbox;
mod live;

use std::time::Duration;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element};

pub fn start() {
    let Some(doc) = document() else { return };
    clean_url();
    if let Some(root) = doc.document_element() {
        local_times(&root);
    }
    live::start(&doc);
    inbox::start(&doc);
    // Leptos hydrates the islands right after this returns (in microtasks):
    // a task scheduled now runs once they are done. Browser tests wait for it.
    leptos::prelude::set_timeout(
        move || {
            if let Ok(Some(main)) = doc.query_selector("main") {
                let _ = main.set_attribute("data-hydrated", "true");
            }
        },
        Duration::ZERO,
    );
}

pub(crate) fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// The elements under `root` that match `selector`.
pub(crate) fn all(root: &Element, selector: &str) -> Vec<Element> {
    let Ok(list) = root.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .collect()
}

/// Each `<time class="local-time">` under `root` (rendered in UTC) in the
/// reader's own time zone and format.
pub(crate) fn local_times(root: &Element) {
    for time in all(root, "time.local-time[datetime]") {
        // An island's times are its own: `LocalTime` sets them once the
        // island is hydrated. Rewritten before, the island no longer matches
        // what it rendered and hydration panics (the dashboard's recent
        // rollbacks did).
        if time.closest("leptos-island").ok().flatten().is_some() {
            continue;
        }
        let Some(at) = time.get_attribute("datetime") else {
            continue;
        };
        let date = js_sys::Date::new(&JsValue::from_str(&at));
        if date.get_time().is_nan() {
            continue;
        }
        let local: String = date.to_locale_string("default", &JsValue::UNDEFINED).into();
        time.set_text_content(Some(&local));
    }
}

/// A form sent before the page was interactive comes back to a URL carrying
/// its error (`?__path=…&__err=…`); once the page shows it, the address is
/// made clean again (nothing reloads).
fn clean_url() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let (Ok(path), Ok(search), Ok(hash)) =
        (location.pathname(), location.search(), location.hash())
    else {
        return;
    };
    if !search.contains("__err=") {
        return;
    }
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.starts_with("__err=") && !pair.starts_with("__path="))
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    if let Ok(history) = window.history() {
        let clean = format!("{path}{query}{hash}");
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
    }
}
