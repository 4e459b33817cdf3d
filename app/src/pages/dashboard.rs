//! The dashboard: facts about the running console, fetched through a server
//! function so the same numbers appear before and after hydration.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_system_facts;
use crate::dto::SystemFacts;
use crate::format::{duration_short, utc_datetime};

#[component]
pub fn Dashboard() -> impl IntoView {
    // Bumping this re-runs the server function; it only moves once hydrated.
    let refreshes = RwSignal::new(0u32);
    let facts = Resource::new(move || refreshes.get(), |_| get_system_facts());

    view! {
        <Title text="Dashboard" />
        <section class="card">
            <div class="card-head">
                <h1>"Dashboard"</h1>
                <button
                    id="refresh-facts"
                    type="button"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    "Refresh"
                </button>
            </div>
            <p class="muted" id="refresh-count" data-refreshes=move || refreshes.get()>
                {move || match refreshes.get() {
                    0 => "Server facts as rendered.".to_string(),
                    1 => "Refreshed 1 time.".to_string(),
                    n => format!("Refreshed {n} times."),
                }}
            </p>
            <Suspense fallback=|| view! { <p>"Loading server facts…"</p> }>
                {move || {
                    facts
                        .get()
                        .map(|result| match result {
                            Ok(f) => view! { <FactsTable facts=f /> }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn FactsTable(facts: SystemFacts) -> impl IntoView {
    let migration = if facts.migration.applied_count == 0 {
        "none applied".to_string()
    } else {
        format!(
            "#{} {} ({} of {} applied)",
            facts.migration.applied_version,
            facts.migration.applied_description,
            facts.migration.applied_count,
            facts.migration.known_count
        )
    };
    let migration_class = if facts.migration.is_current() {
        "ok"
    } else {
        "warn"
    };
    view! {
        <dl class="facts">
            <dt>"Version"</dt>
            <dd id="fact-version">{facts.version}</dd>
            <dt>"Store"</dt>
            <dd id="fact-store">{facts.store.as_str()} " · " <code>{facts.store_location}</code></dd>
            <dt>"Migration level"</dt>
            <dd id="fact-migration" class=migration_class>{migration}</dd>
            <dt>"Up since"</dt>
            <dd id="fact-started">
                {utc_datetime(facts.started_at_ms)} " (" {duration_short(facts.now_ms - facts.started_at_ms)} ")"
            </dd>
            <dt>"Server time"</dt>
            <dd id="fact-now">{utc_datetime(facts.now_ms)}</dd>
        </dl>
    }
}
