//! The Leptos UI: the HTML shell, routes, pages, the DTOs they exchange with
//! the server, and the (thin) server functions behind them.
#![recursion_limit = "256"]

pub mod access;
pub mod api;
#[cfg(feature = "hydrate")]
pub mod browser;
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
    ParamSegment, SsrMode, StaticSegment,
};

use crate::access::{roles_allow, Action, Role};
use crate::dto::identity::CurrentUser;

/// The signed-in person, loaded once per page for the layout and the pages.
pub type Me = Resource<Result<Option<CurrentUser>, error::AppError>>;

/// Whether the signed-in person's roles allow `action` (false while the
/// current user loads, and when nobody is signed in). For showing controls
/// only: the server authorizes every action itself.
pub fn may(action: access::Action) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let me = expect_context::<Me>();
    move || {
        me.get()
            .and_then(|r| r.ok())
            .flatten()
            .is_some_and(|u| access::roles_allow(&u.roles, action))
    }
}

/// The document around the app. The server renders all of it; the wasm
/// hydrates only the islands in it and runs `browser` on the rest.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options islands=true />
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
    let me: Me = Resource::new(|| (), |_| api::identity::load_current_user());
    provide_context(me);
    view! {
        <Stylesheet id="leptos" href="/pkg/rollout-console.css" />
        <Title formatter=|page: String| format!("{page} · Rollout Console") />
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Rollout Console"</a>
                <Suspense fallback=|| ()>
                    {move || me.get().and_then(|r| r.ok()).flatten().map(|user| view! { <SignedIn user /> })}
                </Suspense>
            </header>
            // `browser::start` sets `data-hydrated="true"` once the islands
            // are hydrated; browser tests wait for it before interacting.
            <main class="content" data-hydrated="false">
                // Async rendering: a page's data (and so its status, e.g. 403)
                // is known before the first byte is sent.
                <Routes fallback=pages::not_found::NotFound>
                    <Route ssr=SsrMode::Async path=StaticSegment("") view=pages::dashboard::Dashboard />
                    <Route path=StaticSegment("login") view=pages::login::Login />
                    <Route ssr=SsrMode::Async path=StaticSegment("account") view=pages::account::Account />
                    <Route ssr=SsrMode::Async path=StaticSegment("audit") view=pages::audit::AuditLog />
                    <Route ssr=SsrMode::Async
                        path=(StaticSegment("audit"), ParamSegment("seq"))
                        view=pages::audit_event::AuditEventPage
                    />
                    <Route ssr=SsrMode::Async path=StaticSegment("plans") view=pages::plans::Plans />
                    <Route ssr=SsrMode::Async path=StaticSegment("inbox") view=pages::inbox::InboxPage />
                    <Route ssr=SsrMode::Async
                        path=(StaticSegment("plans"), ParamSegment("id"))
                        view=pages::plan::PlanPage
                    />
                    <Route ssr=SsrMode::Async
                        path=(StaticSegment("plans"), ParamSegment("id"), StaticSegment("jobs"), ParamSegment("job"))
                        view=pages::job::JobPage
                    />
                    <Route ssr=SsrMode::Async
                        path=(StaticSegment("plans"), ParamSegment("id"), StaticSegment("approve"), ParamSegment("phase"))
                        view=pages::plan::approve::ApprovePage
                    />
                    <Route ssr=SsrMode::Async
                        path=(StaticSegment("plans"), ParamSegment("id"), StaticSegment("edit"))
                        view=pages::plan::edit::PlanEdit
                    />
                    <Route ssr=SsrMode::Async path=(StaticSegment("admin"), StaticSegment("users")) view=pages::users::Users />
                    <Route ssr=SsrMode::Async path=(StaticSegment("admin"), StaticSegment("tokens")) view=pages::tokens::Tokens />
                    <Route ssr=SsrMode::Async path=(StaticSegment("admin"), StaticSegment("notifications")) view=pages::notifications::Notifications />
                </Routes>
            </main>
            <script type="module" src="/pkg/passkeys.js"></script>
        </Router>
    }
}

/// Navigation for a signed-in person (admin pages only for admins), who
/// they are, and signing out (a plain form: it works before hydration).
#[component]
fn SignedIn(user: CurrentUser) -> impl IntoView {
    let admin = roles_allow(&user.roles, Action::ManageUsers);
    let roles = Role::join(&user.roles, ", ");
    let waiting = user.waiting;
    let waiting_class = if waiting > 0 { "count some" } else { "count" };
    view! {
        <nav class="nav" aria-label="Main">
            <A href="/" exact=true>"Dashboard"</A>
            <A href="/plans">"Plans"</A>
            <A href="/audit">"Audit"</A>
            <A href="/inbox" attr:id="inbox-link">
                "Waiting for you "
                <span id="inbox-count" class=waiting_class
                    data-inbox-feed="/api/v1/inbox/events">{waiting}</span>
            </A>
            {admin.then(|| view! {
                <A href="/admin/users">"Users"</A>
                <A href="/admin/tokens">"Tokens"</A>
                <A href="/admin/notifications">"Notifications"</A>
            })}
        </nav>
        <div class="whoami">
            <a href="/account" id="whoami" data-username=user.username.clone()>{user.username.clone()}</a>
            <span class="muted">" · " {roles}</span>
            <form method="post" action="/auth/logout" class="inline">
                <button type="submit" class="link" id="sign-out">"Sign out"</button>
            </form>
        </div>
    }
}
