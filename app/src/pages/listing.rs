//! A table loaded from the server, as the list pages (plans, users, API
//! tokens) show one: "Loading…" until it comes, its error, a note when it
//! is empty, else one row per item.
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::AppError;
use crate::pages::regions::drawn_once;

/// The table is `#{id}`, its error `#{id}-error`, the empty note `#no-{id}`.
#[component]
pub fn Listing<T, R, V>(
    list: Resource<Result<Vec<T>, AppError>>,
    id: &'static str,
    /// The column headings.
    head: &'static [&'static str],
    /// What an empty list says.
    empty: &'static str,
    row: R,
    /// `row` draws from its item alone: the rows are drawn once per list
    /// (`pages::regions::drawn_once`).
    #[prop(optional)]
    rows_from_items_alone: bool,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    R: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let row = row.clone();
                list.get().map(|r| match r {
                    Err(e) => view! { <p class="error" id=format!("{id}-error")>{e.to_string()}</p> }.into_any(),
                    Ok(items) if items.is_empty() => view! {
                        <p class="muted" id=format!("no-{id}")>{empty}</p>
                    }.into_any(),
                    Ok(items) if rows_from_items_alone => {
                        let rows = drawn_once(id, &items, || items.clone().into_iter().map(row).collect_view());
                        view! {
                            <table class="events" id=id>
                                <thead><tr>{head.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr></thead>
                                <tbody inner_html=rows></tbody>
                            </table>
                        }.into_any()
                    }
                    Ok(items) => view! {
                        <table class="events" id=id>
                            <thead><tr>{head.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr></thead>
                            <tbody>{items.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                })
            }}
        </Suspense>
    }
}
