//! What a person was doing in a region when it is redrawn: what they typed
//! or chose and have not sent, which confirmations were open, where the
//! cursor was. Fields are matched by their form (its hidden fields: which
//! command, phase, item; not the evidence or revision it carries, which
//! another person's change moves) and their name.
use wasm_bindgen::JsCast;
use web_sys::{
    Element, HtmlDetailsElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement,
};

use super::{all, document};

pub struct Kept {
    /// Fields that differ from what the server rendered, with their value
    /// ("checked" or "" for boxes).
    fields: Vec<(String, String)>,
    open: Vec<(String, bool)>,
    focus: Option<(String, Option<u32>)>,
}

const FIELDS: &str = "input:not([type=hidden]):not([type=submit]), textarea, select";

pub fn save(region: &Element) -> Kept {
    let fields = all(region, FIELDS)
        .into_iter()
        .filter_map(|e| {
            let (value, changed) = state(&e)?;
            changed.then(|| (field_key(&e), value))
        })
        .collect();
    let open = all(region, "details")
        .into_iter()
        .map(|d| (details_key(&d), d.has_attribute("open")))
        .collect();
    let focus = document()
        .and_then(|d| d.active_element())
        .filter(|a| region.contains(Some(a.as_ref())) && a.matches(FIELDS).unwrap_or(false))
        .map(|a| (field_key(&a), caret(&a)));
    Kept {
        fields,
        open,
        focus,
    }
}

pub fn restore(region: &Element, kept: Kept) {
    // One pass over the fields: each key is worked out once.
    for e in all(region, FIELDS) {
        let key = field_key(&e);
        if let Some((_, value)) = kept.fields.iter().find(|(k, _)| *k == key) {
            set(&e, value);
        }
        if let Some((_, at)) = kept.focus.as_ref().filter(|(k, _)| *k == key) {
            focus(&e, *at);
        }
    }
    for d in all(region, "details") {
        let key = details_key(&d);
        if let Some((_, open)) = kept.open.iter().find(|(k, _)| *k == key) {
            if let Some(d) = d.dyn_ref::<HtmlDetailsElement>() {
                d.set_open(*open);
            }
        }
    }
}

fn focus(e: &Element, at: Option<u32>) {
    if let Some(e) = e.dyn_ref::<web_sys::HtmlElement>() {
        let _ = e.focus();
    }
    if let (Some(i), Some(at)) = (e.dyn_ref::<HtmlInputElement>(), at) {
        let _ = i.set_selection_range(at, at);
    } else if let (Some(t), Some(at)) = (e.dyn_ref::<HtmlTextAreaElement>(), at) {
        let _ = t.set_selection_range(at, at);
    }
}

/// The form's hidden fields that say what it does ("" for no form).
fn form_key(form: Option<Element>) -> String {
    let Some(form) = form else {
        return String::new();
    };
    all(&form, "input[type=hidden]")
        .into_iter()
        .filter_map(|e| e.dyn_into::<HtmlInputElement>().ok())
        .filter(|i| !matches!(i.name().as_str(), "evidence" | "revision"))
        .map(|i| format!("{}={}&", i.name(), i.value()))
        .collect()
}

fn field_key(e: &Element) -> String {
    let form = form_key(e.closest("form").ok().flatten());
    let name = e
        .get_attribute("name")
        .or_else(|| e.get_attribute("id"))
        .unwrap_or_default();
    let radio = e
        .dyn_ref::<HtmlInputElement>()
        .filter(|i| i.type_() == "radio")
        .map(|i| i.value())
        .unwrap_or_default();
    format!("{form}|{name}|{radio}")
}

fn details_key(d: &Element) -> String {
    if !d.id().is_empty() {
        return format!("#{}", d.id());
    }
    let form = form_key(d.query_selector("form").ok().flatten());
    format!("{}|{form}", d.class_name())
}

/// The field's value, and whether it differs from what the server rendered.
fn state(e: &Element) -> Option<(String, bool)> {
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        return Some(match i.type_().as_str() {
            "checkbox" | "radio" => (
                if i.checked() {
                    "checked".into()
                } else {
                    String::new()
                },
                i.checked() != i.default_checked(),
            ),
            _ => (i.value(), i.value() != i.default_value()),
        });
    }
    if let Some(s) = e.dyn_ref::<HtmlSelectElement>() {
        // What the server chose: the option marked selected, else the first.
        let rendered = s
            .query_selector("option[selected]")
            .ok()
            .flatten()
            .or_else(|| s.query_selector("option").ok().flatten())
            .and_then(|o| o.get_attribute("value"))
            .unwrap_or_default();
        return Some((s.value(), s.value() != rendered));
    }
    let t = e.dyn_ref::<HtmlTextAreaElement>()?;
    let rendered = t.default_value().unwrap_or_default();
    Some((t.value(), t.value() != rendered))
}

fn set(e: &Element, value: &str) {
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        match i.type_().as_str() {
            "checkbox" | "radio" => i.set_checked(value == "checked"),
            _ => i.set_value(value),
        }
    } else if let Some(t) = e.dyn_ref::<HtmlTextAreaElement>() {
        t.set_value(value);
    } else if let Some(s) = e.dyn_ref::<HtmlSelectElement>() {
        s.set_value(value);
    }
}

fn caret(e: &Element) -> Option<u32> {
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        return i.selection_start().ok().flatten();
    }
    e.dyn_ref::<HtmlTextAreaElement>()?
        .selection_start()
        .ok()
        .flatten()
}
