//! The Leptos UI: the HTML shell, routes, pages, the DTOs they exchange with
//! the server, and the (thin) server functions behind them.
#![recursion_limit = "256"]

pub mod api;
pub mod dto;
pub mod error;
pub mod format;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    StaticSegment,
};

/// The document around the app; the server renders it, the wasm hydrates `<App/>`.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, so this flips once hydration is done;
    // browser tests wait for `data-hydrated="true"` before interacting.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Stylesheet id="leptos" href="/pkg/rollout-console.css" />
        <Title formatter=|page: String| format!("{page} · Rollout Console") />
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Rollout Console"</a>
                <nav class="nav" aria-label="Main">
                    <A href="/" exact=true>"Dashboard"</A>
                </nav>
            </header>
            <main class="content" data-hydrated=move || hydrated.get().to_string()>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=StaticSegment("") view=pages::dashboard::Dashboard />
                </Routes>
            </main>
        </Router>
    }
}
