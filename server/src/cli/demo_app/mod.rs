//! `rollout-console demo app`: the application the demo rolls out, one
//! process per environment. It serves `/api/projects/{id}` (each request
//! reads the plan's flag over OFREP for its organisation, with a token bound
//! to the environment, and takes the old or the new code path,
//! `model`), sends itself a little traffic (`--rate`), and exposes
//! `/metrics` (`http_requests_total`, `http_request_duration_seconds`, the
//! console's own request metrics) for the demo's Prometheus, which labels
//! them with the environment. Its page (`/`) shows what it serves and has
//! the failure switch (`POST /failure`; also `demo fail`), which makes the
//! new code path answer 500: the plan's guardrails then see the error rate
//! rise in that environment alone.
mod flag;
pub mod history;
mod model;
mod page;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use clap::Args;
use serde::Deserialize;

use super::CliError;
use crate::metrics::Metrics;

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The environment this instance serves (its token must be bound to it).
    #[arg(long)]
    pub environment: String,
    /// Where it listens.
    #[arg(long, default_value = "127.0.0.1:3101")]
    pub listen: SocketAddr,
    /// The console whose OFREP endpoint it reads the flag from.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub console: String,
    /// A file holding a flags:read token bound to the environment
    /// (`rollout-console token create --scope flags:read --environment …`).
    #[arg(long)]
    pub token_file: PathBuf,
    /// The flag it reads.
    #[arg(long, default_value = "enable_sti")]
    pub flag: String,
    /// Requests per second it sends itself (0: none).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Start with the failure switch on.
    #[arg(long)]
    pub failing: bool,
}

/// What the application counts for its page.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    new_path: AtomicU64,
    errors: AtomicU64,
    defaults: AtomicU64,
}

struct App {
    environment: String,
    flag_key: String,
    flag: flag::OfrepFlag,
    failing: AtomicBool,
    counts: Counts,
    /// Why the last evaluation gave the default, if it did.
    last_default: std::sync::Mutex<Option<String>>,
    metrics: Arc<Metrics>,
}

pub async fn run(args: AppArgs) -> Result<(), CliError> {
    if !(0.0..=1000.0).contains(&args.rate) {
        return Err(CliError::Invalid(format!(
            "--rate {}: use 0 to 1000 requests per second",
            args.rate
        )));
    }
    let token = std::fs::read_to_string(&args.token_file)
        .map_err(|e| {
            CliError::Invalid(format!(
                "--token-file {}: {e}; create a token with `rollout-console token create --name \
                 \"demo app\" --scope flags:read --environment {}` and write its secret there",
                args.token_file.display(),
                args.environment
            ))
        })?
        .trim()
        .to_string();
    let metrics = Metrics::new().map_err(|e| CliError::Runtime(e.to_string()))?;
    let app = Arc::new(App {
        environment: args.environment.clone(),
        flag_key: args.flag.clone(),
        flag: flag::OfrepFlag::new(&args.console, &args.flag, token).map_err(CliError::Runtime)?,
        failing: AtomicBool::new(args.failing),
        counts: Counts::default(),
        last_default: std::sync::Mutex::new(None),
        metrics: metrics.clone(),
    });
    let router = Router::new()
        .route("/api/projects/{id}", get(project))
        .route("/", get(page::page))
        .route("/failure", post(failure))
        .route_layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track_http,
        ))
        .route("/metrics", get(metrics_text))
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::Runtime(format!("--listen {}: {e}", args.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    eprintln!(
        "demo app ({}) listening on http://{bound}; reading flag {} from {}",
        args.environment, args.flag, args.console
    );
    if args.rate > 0.0 {
        tokio::spawn(traffic(bound, args.rate));
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(crate::cli::shutdown_signal())
        .await
        .map_err(|e| CliError::Runtime(e.to_string()))
}

/// The application's own load: `rate` requests a second for random
/// organisations, each waited for on its own.
async fn traffic(at: SocketAddr, rate: f64) {
    let client = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let url = format!("http://{at}/api/projects/{}", fastrand::u32(1..=100_000));
        let client = client.clone();
        tokio::spawn(async move {
            let _ = client.get(url).send().await;
        });
    }
}

/// One project, served on the code path the flag picks for its
/// organisation (a project belongs to organisation `id % 1000`).
async fn project(State(app): State<Arc<App>>, Path(id): Path<u32>) -> Response {
    let org = format!("org-{}", id % 1000);
    let evaluated = app.flag.evaluate(&org).await;
    let new_path = evaluated.on();
    if let flag::Evaluated::Default(why) = &evaluated {
        app.counts.defaults.fetch_add(1, Ordering::Relaxed);
        let mut last = app.last_default.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(why) {
            eprintln!("demo app ({}): flag default (off): {why}", app.environment);
            *last = Some(why.clone());
        }
    } else {
        *app.last_default.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
    tokio::time::sleep(Duration::from_secs_f64(model::latency_s(
        fastrand::f64(),
        new_path,
    )))
    .await;
    app.counts.requests.fetch_add(1, Ordering::Relaxed);
    if new_path {
        app.counts.new_path.fetch_add(1, Ordering::Relaxed);
    }
    if model::fails(new_path, app.failing.load(Ordering::Relaxed)) {
        app.counts.errors.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the new code path failed (the demo's failure switch is on)",
        )
            .into_response();
    }
    Json(serde_json::json!({
        "project": id,
        "organisation": org,
        "code_path": if new_path { "sti" } else { "legacy" },
    }))
    .into_response()
}

#[derive(Deserialize)]
struct Switch {
    failing: String,
}

/// The failure switch. A form on the page posts here: only from the
/// application's own page (its `Origin`), so another site cannot flip it.
async fn failure(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(switch): Form<Switch>,
) -> Response {
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    let origin = headers.get("origin").and_then(|h| h.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        if origin != format!("http://{host}") {
            return (
                StatusCode::FORBIDDEN,
                "the failure switch is flipped from this application's own page",
            )
                .into_response();
        }
    }
    let failing = match switch.failing.as_str() {
        "on" => true,
        "off" => false,
        other => {
            return (
                StatusCode::BAD_REQUEST,
                format!("failing={other}: send failing=on or failing=off"),
            )
                .into_response()
        }
    };
    app.failing.store(failing, Ordering::Relaxed);
    eprintln!(
        "demo app ({}): failure switch {}",
        app.environment,
        if failing { "on" } else { "off" }
    );
    axum::response::Redirect::to("/").into_response()
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    match app.metrics.render() {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `demo fail`: flips the switch of the application at `url`.
pub async fn switch(url: &str, failing: bool) -> Result<(), CliError> {
    let url = format!("{}/failure", url.trim_end_matches('/'));
    let answer = reqwest::Client::new()
        .post(&url)
        .form(&[("failing", if failing { "on" } else { "off" })])
        .send()
        .await
        .map_err(|e| CliError::Runtime(format!("{url}: {e}; is the demo app running there?")))?;
    // The switch answers with a redirect to its page.
    if answer.status().is_success() || answer.status().is_redirection() {
        println!(
            "failure switch {} at {url}",
            if failing { "on" } else { "off" }
        );
        Ok(())
    } else {
        Err(CliError::Runtime(format!(
            "{url} answered {}: {}",
            answer.status(),
            answer.text().await.unwrap_or_default()
        )))
    }
}
