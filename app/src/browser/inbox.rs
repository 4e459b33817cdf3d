//! The header's "Waiting for you" count, live: `#inbox-count` names its
//! feed (`data-inbox-feed`), which sends `count` whenever what waits for
//! this person changes; the inbox page itself is redrawn too.
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, MessageEvent};

pub fn start(doc: &Document) {
    let Some(count) = doc.get_element_by_id("inbox-count") else {
        return;
    };
    let Some(feed) = count.get_attribute("data-inbox-feed") else {
        return;
    };
    let Ok(source) = web_sys::EventSource::new(&feed) else {
        return;
    };
    let page = doc.get_element_by_id("live-inbox").is_some();
    let on_count = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(n) = ev.data().as_string() else {
            return;
        };
        let changed = count.text_content().as_deref() != Some(n.as_str());
        count.set_text_content(Some(&n));
        let _ = count.set_attribute("class", if n == "0" { "count" } else { "count some" });
        if page && changed {
            super::live::redraw();
        }
    });
    let _ = source.add_event_listener_with_callback("count", on_count.as_ref().unchecked_ref());
    on_count.forget();
}
