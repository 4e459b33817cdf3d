//! The demo application's page: what it serves in its environment, how its
//! requests went, and the failure switch. It reloads itself every 5 s.
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::App;

pub async fn page(State(app): State<Arc<App>>) -> Html<String> {
    render(&app)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(app: &App) -> Html<String> {
    let c = &app.counts;
    let requests = c.requests.load(Ordering::Relaxed);
    let share = |n: u64| {
        if requests == 0 {
            "–".to_string()
        } else {
            format!("{:.1} %", n as f64 * 100.0 / requests as f64)
        }
    };
    let failing = app.failing.load(Ordering::Relaxed);
    let (state, button, next) = if failing {
        (
            "<strong class=bad>on</strong>: every request on the new code path answers 500",
            "Make it healthy",
            "off",
        )
    } else {
        ("off", "Make it fail", "on")
    };
    let last_default = app
        .last_default
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .map(|why| {
            format!(
                "<p class=bad>The flag reads as its default (off): {}</p>",
                escape(&why)
            )
        })
        .unwrap_or_default();
    let env = escape(&app.environment);
    let flag = escape(&app.flag_key);
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo app · {env}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
.bad{{color:#b00020}} td{{padding:.2rem 1rem .2rem 0}} button{{font-size:1rem;padding:.4rem 1rem}}</style>
</head><body>
<h1>Demo app: <span id="environment">{env}</span></h1>
<p>Reads the flag <code>{flag}</code> over OFREP for each request's organisation; the flag on
means the new code path (STI). Prometheus scrapes <a href="/metrics">/metrics</a>.</p>
{last_default}
<table>
<tr><td>Requests served</td><td id="requests">{requests}</td></tr>
<tr><td>On the new code path</td><td id="new-path">{new_path}</td></tr>
<tr><td>Answered 500</td><td id="errors">{errors}</td></tr>
<tr><td>Flag read as its default</td><td id="defaults">{defaults}</td></tr>
</table>
<p>Failure switch: <span id="failing">{state}</span></p>
<form method="post" action="/failure"><input type="hidden" name="failing" value="{next}">
<button type="submit">{button}</button></form>
</body></html>"#,
        new_path = share(c.new_path.load(Ordering::Relaxed)),
        errors = share(c.errors.load(Ordering::Relaxed)),
        defaults = share(c.defaults.load(Ordering::Relaxed)),
    ))
}
