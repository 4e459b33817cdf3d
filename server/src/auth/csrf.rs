//! Cross-site request forgery: a state-changing request carried by a browser
//! cookie must come from the console's own pages. Browsers say where a request
//! comes from in `Sec-Fetch-Site` and `Origin`, which pages cannot forge;
//! requests with a Bearer token carry no ambient credential and pass. Every
//! request must also name the console by an address or its public name.
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::middleware::bearer;
use super::AuthState;

/// Allows or refuses a state-changing request; the error says why and what to do.
pub fn check(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    own_origin: Option<&str>,
) -> Result<(), String> {
    if let Some(site) = sec_fetch_site {
        if !matches!(site, "same-origin" | "none") {
            return Err(format!(
                "refused: a {site} request may not change anything here; use the console's own pages"
            ));
        }
    }
    match (origin, own_origin) {
        (Some(o), Some(own)) if o == own => Ok(()),
        (Some(o), Some(own)) => Err(format!(
            "refused: origin {o} is not the console's origin {own}; if the console is reached through a proxy, set public_url"
        )),
        (Some(o), None) => Err(format!("refused: origin {o} cannot be checked without a Host header")),
        (None, _) if sec_fetch_site.is_some() => Ok(()),
        (None, _) => Err(
            "refused: a state-changing request needs an Origin header (browsers send one); API clients use `Authorization: Bearer <token>`"
                .to_string(),
        ),
    }
}

/// An API request with neither a token nor any cookie has no ambient
/// authority for another site to borrow: it goes on, and is answered 401
/// like any unauthenticated call. Sign-in (outside `/api/`) stays guarded
/// against login CSRF.
fn carries_no_credentials(req: &Request) -> bool {
    req.uri().path().starts_with("/api/") && !req.headers().contains_key(header::COOKIE)
}

/// `public_url`'s origin, or the request's own host over http.
pub fn own_origin(configured: Option<&str>, headers: &HeaderMap) -> Option<String> {
    if let Some(o) = configured {
        return Some(o.to_string());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

/// May a request name this `Host`? An IP address or `localhost` always (the
/// address itself, probes); any other name only when it is `public_url`'s.
/// This stops DNS rebinding: a page on a foreign name pointed at the console's
/// address is refused before it can use the console.
pub fn host_allowed(host: &str, public_origin: Option<&str>) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    public_origin
        .and_then(|o| o.split_once("://"))
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

pub async fn guard(State(state): State<AuthState>, req: Request, next: Next) -> Response {
    if let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
    {
        if !host_allowed(host, state.public_origin.as_deref()) {
            let why = format!(
                "refused: this console does not answer to the name {host:?}; set public_url to the address people use"
            );
            tracing::warn!(host = %host, "request for a foreign host name refused");
            return crate::api_error::answer(StatusCode::MISDIRECTED_REQUEST, why);
        }
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || bearer(&req).is_some()
        || carries_no_credentials(&req)
    {
        return next.run(req).await;
    }
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let own = own_origin(state.public_origin.as_deref(), headers);
    match check(text("sec-fetch-site"), text("origin"), own.as_deref()) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(path = %req.uri().path(), reason = %why, "cross-site request refused");
            crate::api_error::answer(StatusCode::FORBIDDEN, why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: Option<&str> = Some("http://127.0.0.1:3000");

    #[test]
    fn same_origin_passes() {
        assert!(check(Some("same-origin"), Some("http://127.0.0.1:3000"), OWN).is_ok());
        assert!(check(None, Some("http://127.0.0.1:3000"), OWN).is_ok());
        assert!(check(Some("same-origin"), None, OWN).is_ok());
    }

    #[test]
    fn cross_site_and_foreign_origins_are_refused() {
        let e = check(Some("cross-site"), Some("https://evil.example"), OWN).unwrap_err();
        assert!(e.contains("cross-site"), "{e}");
        assert!(check(Some("same-site"), Some("http://127.0.0.1:3000"), OWN).is_err());
        let e = check(None, Some("https://evil.example"), OWN).unwrap_err();
        assert!(
            e.contains("evil.example") && e.contains("public_url"),
            "{e}"
        );
        assert!(check(None, Some("null"), OWN).is_err());
        assert!(check(None, None, OWN).unwrap_err().contains("Bearer"));
    }

    #[test]
    fn only_addresses_localhost_and_the_public_name_are_answered() {
        assert!(host_allowed("127.0.0.1:3000", None));
        assert!(host_allowed("[::1]:3000", None));
        assert!(host_allowed("localhost:3000", None));
        assert!(host_allowed("10.1.2.3", None));
        assert!(!host_allowed("evil.example:3000", None), "DNS rebinding");
        let public = Some("https://rollout.example.com");
        assert!(host_allowed("rollout.example.com", public));
        assert!(!host_allowed("rollout.example.com.evil.example", public));
        assert!(!host_allowed("console.internal:3000", public));
    }

    #[test]
    fn own_origin_prefers_the_setting() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "console.internal:8080".parse().unwrap());
        assert_eq!(
            own_origin(None, &h).as_deref(),
            Some("http://console.internal:8080")
        );
        assert_eq!(
            own_origin(Some("https://rollout.example.com"), &h).as_deref(),
            Some("https://rollout.example.com")
        );
        assert_eq!(own_origin(None, &HeaderMap::new()), None);
    }
}
