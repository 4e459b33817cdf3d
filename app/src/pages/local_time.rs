//! A point in time as the reader's own clock shows it. The server renders
//! UTC (it cannot know the reader's zone); the browser rewrites it in its
//! local time zone (`browser::local_times` on the server-rendered page, the
//! effect below inside an island, whose views are redrawn in the browser).
//! The UTC time stays in the tooltip and in `datetime`, so what the audit
//! trail says is never ambiguous.
use leptos::prelude::*;

use crate::format::{utc_datetime, utc_datetimes_in};

/// A server-written text (a blocker, an item's detail) with each UTC time in
/// it shown as a [`LocalTime`].
#[component]
pub fn WithLocalTimes(text: String) -> impl IntoView {
    let mut parts = Vec::new();
    let mut at = 0;
    for (range, ms) in utc_datetimes_in(&text) {
        parts.push(text[at..range.start].to_string().into_any());
        parts.push(view! { <LocalTime ms=ms/> }.into_any());
        at = range.end;
    }
    parts.push(text[at..].to_string().into_any());
    parts
}

#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let text = RwSignal::new(utc_datetime(ms));
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
            let local: String = date
                .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
                .into();
            text.set(local);
        }
    });
    let utc = utc_datetime(ms);
    let iso = utc.trim_end_matches(" UTC").replacen(' ', "T", 1) + "Z";
    view! { <time datetime=iso title=utc class="local-time">{move || text.get()}</time> }
}
