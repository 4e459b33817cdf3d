//! Pages (`text/html`) and JSON answers go out gzip-compressed to clients
//! that accept it: the plan page's HTML is a fifth of its size over the
//! wire, and a live redraw's parts (`/api/plan_regions`, JSON) are mostly
//! HTML too. Nothing else is compressed here: the bundle has precompressed
//! copies (`scripts/build`), and the change feed (SSE) must not be buffered.
use axum::http::{header, Extensions, HeaderMap, StatusCode, Version};
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;

pub fn pages() -> CompressionLayer<impl Predicate> {
    let html = |_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions| {
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/json"))
    };
    CompressionLayer::new().compress_when(SizeAbove::new(1024).and(html))
}
