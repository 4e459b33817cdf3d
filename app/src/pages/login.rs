//! The sign-in page: a plain HTML form posted to `/auth/login`, so it works
//! before the wasm arrives. The outcome comes back in the query string.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).map(|v| v.to_string()));
    let next = move || param("next").unwrap_or_else(|| "/".to_string());
    let message = move || match param("error").as_deref() {
        Some("invalid") => Some(("error", "Unknown username or wrong password.".to_string())),
        Some("missing") => Some(("error", "Enter your username and password.".to_string())),
        Some("throttled") => Some((
            "error",
            format!(
                "Too many failed attempts. Try again in {} seconds.",
                param("retry").unwrap_or_else(|| "a few".into())
            ),
        )),
        _ if param("signed_out").is_some() => Some(("ok", "You have signed out.".to_string())),
        _ => None,
    };
    view! {
        <Title text="Sign in" />
        <section class="card narrow">
            <h1>"Sign in"</h1>
            {move || message().map(|(class, text)| view! { <p id="login-message" class=class role="alert">{text}</p> })}
            <form method="post" action="/auth/login" class="stack" id="login-form">
                <input type="hidden" name="next" value=next />
                <label>
                    "Username"
                    <input name="username" id="username" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input
                        name="password"
                        id="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        minlength="1"
                        maxlength="128"
                    />
                </label>
                <button type="submit" id="sign-in">"Sign in"</button>
            </form>
        </section>
    }
}
