//! Router assembly: operational endpoints, Leptos pages and server functions,
//! static files, and the middleware every request passes through.
mod api_errors;
mod compression;
mod headers;
pub mod listen;
pub mod openapi;
mod ops;

use std::net::SocketAddr;
use std::sync::Arc;

use app::service::Services;
use app::{shell, App};
use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{HeaderName, Request};
use axum::{middleware, Router};
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::audit::AuditService;
use crate::auth::session::{self, Timeouts};
use crate::auth::session_store::ConsoleSessionStore;
use crate::auth::{csrf, middleware::resolve_caller, AuthState, IdentityService};
use crate::backfill::metrics::BackfillMetrics;
use crate::config::Config;
use crate::db::Store;
use crate::events::PlanEvents;
use crate::flags::cache::FlagCache;
use crate::jobs::manager::JobManager;
use crate::jobs::service::BackfillService;
use crate::metrics::{track_http, Metrics};
use crate::plans::PlanService;
use crate::system::SystemService;

/// The name of the wasm/js/css bundle scripts/build (or cargo-leptos) builds.
pub const OUTPUT_NAME: &str = "rollout-console";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything a request handler may need.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// The audit service itself (also in `services`): the start-up walk and
    /// the REST endpoints call it directly.
    pub audit: AuditService,
    pub services: Services,
    /// The plan service itself (also in `services`), for the REST API.
    pub plans: PlanService,
    pub events: PlanEvents,
    pub flag_cache: FlagCache,
    /// The configured environments, in promotion order.
    pub environments: Arc<Vec<String>>,
    /// Backfill runs this server executes.
    pub jobs: JobManager,
    /// The backfill service itself (also in `services`), for the REST API.
    pub backfill: Arc<BackfillService>,
    /// Sessions, timeouts, the public origin and trusted proxies: what the
    /// identity middleware and routes take.
    pub auth: AuthState,
    /// What plans and runs judge time by (tests move it forward).
    pub clock: crate::clock::Clock,
    /// How far the guardrail evaluator has got.
    pub guardrail_passes: crate::guardrails::passes::Passes,
    pub guardrail_baselines: crate::guardrails::baselines::Baselines,
    /// What a connection may hold (`listen`).
    pub http_limits: listen::Limits,
    /// Flag evaluation for OpenFeature clients.
    pub ofrep: crate::flags::ofrep::OfrepApi,
    /// `[ofrep] cors_origins`.
    #[from_ref(skip)]
    pub ofrep_origins: Arc<Vec<String>>,
    /// `[notify.*]`: the endpoints and their delivery worker.
    #[from_ref(skip)]
    pub notifier: crate::notify::Notifier,
}

fn metrics_failed(e: prometheus::Error) -> String {
    format!("setting up metrics failed: {e}")
}

impl AppState {
    /// Wires the services over an opened, migrated store.
    pub fn new(
        store: Store,
        sessions: ConsoleSessionStore,
        config: &Config,
        bound: SocketAddr,
    ) -> Result<AppState, String> {
        let leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(config.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(bound)
            .env(Env::PROD)
            .build();
        let audit = AuditService::new(store.clone());
        let events = PlanEvents::default();
        let flag_cache = FlagCache::default();
        let clock = crate::clock::Clock::default();
        let plans =
            PlanService::from_config(store.clone(), config, (events.clone(), flag_cache.clone()))
                .with_clock(clock.clone());
        let metrics = Metrics::new().map_err(metrics_failed)?;
        let jobs = JobManager::from_config(
            store.clone(),
            config,
            events.clone(),
            BackfillMetrics::register(metrics.registry()).map_err(metrics_failed)?,
        )
        .with_clock(clock.clone());
        let guardrail_passes = crate::guardrails::passes::Passes::register(metrics.registry())
            .map_err(metrics_failed)?;
        let guardrail_baselines =
            crate::guardrails::baselines::Baselines::register(metrics.registry())
                .map_err(metrics_failed)?;
        let backfill = Arc::new(BackfillService::new(store.clone(), jobs.clone()));
        let public_origin = config
            .public_url
            .as_deref()
            .and_then(|u| crate::config::public_origin(u).ok());
        let ofrep = crate::flags::ofrep::OfrepApi {
            store: store.clone(),
            flags: flag_cache.clone(),
            environments: Arc::new(config.environments.clone()),
            limiter: Arc::new(crate::flags::ofrep::limit::Limiter::new(
                config.ofrep.requests_per_sec,
                config.ofrep.burst,
            )),
            counted: crate::flags::ofrep::register_counter(metrics.registry())
                .map_err(metrics_failed)?,
            public_origin: public_origin.clone(),
            answers: Arc::default(),
        };
        // Links in notifications lead where people reach the console.
        let base_url = public_origin
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let notifier = crate::notify::Notifier::from_config(
            store.clone(),
            config,
            &base_url,
            metrics.registry(),
            |var| std::env::var(var).ok(),
        )?;
        let services = Services {
            system: Arc::new(
                SystemService::new(store.clone()).with_superuser_targets(
                    config
                        .targets
                        .iter()
                        .filter(|(_, t)| t.allow_superuser)
                        .map(|(name, _)| name.clone())
                        .collect(),
                ),
            ),
            audit: Arc::new(audit.clone()),
            identity: Arc::new(IdentityService::new(
                store.clone(),
                config.environments.clone(),
            )),
            plans: Arc::new(plans.clone()),
            backfill: backfill.clone(),
            notify: Arc::new(notifier.service()),
        };
        Ok(AppState {
            leptos_options,
            metrics,
            audit,
            services,
            plans,
            events,
            flag_cache,
            environments: Arc::new(config.environments.clone()),
            clock,
            guardrail_passes,
            guardrail_baselines,
            http_limits: listen::Limits::of(config),
            ofrep,
            ofrep_origins: Arc::new(config.ofrep.cors_origins.clone()),
            jobs,
            backfill,
            notifier,
            auth: AuthState {
                store: store.clone(),
                sessions,
                timeouts: Timeouts::from_secs(
                    config.session_idle_timeout_secs,
                    config.session_absolute_timeout_secs,
                ),
                public_origin,
                trusted_proxies: Arc::new(
                    config
                        .trusted_proxies
                        .iter()
                        .filter_map(|p| p.trim().parse().ok())
                        .collect(),
                ),
            },
            store,
        })
    }
}

// Each feature router takes only the state it needs (FromRef sub-states), so
// no feature module depends on this one.
macro_rules! sub_state {
    ($($api:path { $($field:ident),+ })+) => {$(
        impl FromRef<AppState> for $api {
            fn from_ref(s: &AppState) -> Self {
                Self { $($field: s.$field.clone()),+ }
            }
        }
    )+};
}

sub_state! {
    crate::audit::export::AuditApi { audit, store }
    crate::plans::rest::PlansApi { plans, events, auth }
    crate::flags::rest::FlagsApi { store, flag_cache, environments, ofrep }
    crate::jobs::rest::BackfillApi { backfill }
}

/// A feature's routes with its sub-state taken from the application's.
fn feature<T>(routes: Router<T>, state: &AppState) -> Router<AppState>
where
    T: FromRef<AppState> + Clone + Send + Sync + 'static,
{
    routes.with_state(T::from_ref(state))
}

/// The whole HTTP surface of the console.
pub fn router(state: AppState) -> Router {
    let services = state.services.clone();
    // The page's services, and the nonce `headers::security_headers` put in
    // the request and names in its policy (leptos_axum provides a random
    // one of its own first; this one replaces it).
    let context = move || {
        provide_context(services.clone());
        let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<leptos::nonce::Nonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(nonce);
        }
    };
    let fallback_context = context.clone();
    let options = state.leptos_options.clone();
    let https = state
        .auth
        .public_origin
        .as_deref()
        .is_some_and(|o| o.starts_with("https://"));
    Router::new()
        .merge(ops::router())
        .merge(feature(crate::auth::routes::router(), &state))
        .merge(feature(crate::auth::passkey_routes::router(), &state))
        .merge(feature(crate::audit::export::router(), &state))
        .merge(feature(crate::plans::rest::router(), &state))
        .merge(feature(crate::plans::inbox::router(), &state))
        .merge(feature(crate::plans::signing::router(), &state))
        .merge(feature(crate::flags::rest::router(), &state))
        .merge(feature(crate::jobs::rest::router(), &state))
        .merge(openapi::router(&state.environments))
        .leptos_routes_with_context(&state, generate_route_list(App), context, move || {
            shell(options.clone())
        })
        // Static files, then the 404 page. For the wasm, its JS and the
        // stylesheet it sends the gzip -9 copy scripts/build writes beside
        // each to browsers that accept gzip (the wasm is a third of its size
        // over the wire), without compressing per request.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(fallback_context, shell))
        // Innermost first: who is asking, their session, then the CSRF check.
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            resolve_caller,
        ))
        .layer(session::layer(
            state.auth.sessions.clone(),
            state.auth.timeouts,
            https,
        ))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            csrf::guard,
        ))
        // OFREP: tokens only, no session or cookie, browsers from the
        // configured origins (its own CORS), every answer JSON.
        .merge(feature(
            crate::flags::ofrep::router(&state.ofrep_origins),
            &state,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            track_http,
        ))
        // Outside the handlers, so a server function's oversized body is a
        // plain 413 like REST's, never the transport's error text.
        .layer(RequestBodyLimitLayer::new(headers::MAX_BODY_BYTES))
        .layer(middleware::from_fn(headers::limit_body))
        .layer(middleware::from_fn(api_errors::json_errors))
        .layer(middleware::from_fn(headers::security_headers))
        .layer(middleware::from_fn(headers::vary_encoding))
        .layer(compression::pages())
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}

/// One span per request, carrying its id. Only the path is logged: query
/// strings may carry secrets.
fn request_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", request_id = %request_id, method = %req.method(), path = %req.uri().path())
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.http_limits;
    listen::serve(listener, router(state), limits, shutdown).await
}
