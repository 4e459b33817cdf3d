//! What every response carries so a browser cannot be turned against the
//! console: no framing by other origins (clickjacking), no content sniffing,
//! no referrer leaking plan ids to other origins (`same-origin`; with
//! `no-referrer` browsers send `Origin: null` on the console's own form
//! posts, which the CSRF check refuses), and a content security policy with
//! no `'unsafe-inline'`: scripts run only from the console's own files or
//! with the response's nonce (Leptos puts it on its hydration and resource
//! scripts), styles only from its stylesheet; the wasm needs
//! `wasm-unsafe-eval`. A string a plan author slips into a page past every
//! escape still cannot run. An answer that is not a page (JSON, an export,
//! a file) needs nothing from a policy, and gets the one that allows
//! nothing (`default-src 'none'`), should a browser ever show it as a
//! document.
use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

/// The largest request body any endpoint reads (plan files are far smaller);
/// a bigger one is answered 413 before a handler sees it.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The policy of anything that is not a page.
const NOTHING: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The policy for a page whose inline scripts carry `nonce`.
fn csp(nonce: &Nonce) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Refuses a body declared larger than `MAX_BODY_BYTES` with a 413 that says
/// what to do; bodies without a length are cut off at the same size by the
/// `RequestBodyLimitLayer` inside (also a 413).
pub async fn limit_body(req: Request<Body>, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        let message = format!(
            "the request body is larger than {} MiB, the most the console reads; send less (a plan file is far smaller)",
            MAX_BODY_BYTES / (1024 * 1024)
        );
        return crate::api_error::answer(axum::http::StatusCode::PAYLOAD_TOO_LARGE, message);
    }
    next.run(req).await
}

/// Static files come gzipped or not as the browser asks: say so to caches.
pub async fn vary_encoding(req: Request<Body>, next: Next) -> Response {
    let static_file = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    if static_file {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// A fresh nonce per request (16 random bytes), handed to the page's
/// renderer through the request's extensions (`http::router` provides it
/// as Leptos's `Nonce`) and named in the response's policy.
pub async fn security_headers(mut req: Request<Body>, next: Next) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    let page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let policy = if page {
        HeaderValue::from_str(&csp(&nonce)).ok()
    } else {
        Some(HeaderValue::from_static(NOTHING))
    };
    if let Some(policy) = policy {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(policy);
    }
    headers
        .entry(header::HeaderName::from_static(
            "cross-origin-opener-policy",
        ))
        .or_insert(HeaderValue::from_static("same-origin"));
    res
}
