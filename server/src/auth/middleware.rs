//! Who is asking: every request gets a [`Caller`] — from its Bearer token or
//! its session — and pages ask people who are not signed in to sign in.
use app::access::Principal;
use app::error::AppError;
use app::service::Caller;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::{IpAddr, SocketAddr};
use tower_sessions::Session;

use super::session::{self, SessionData, Verdict};
use super::AuthState;
use super::{tokens, users};
use crate::api_error::ApiError;
use crate::system::now_ms;

/// Paths anyone may fetch: the sign-in page, static files, probes, metrics.
/// The API answers 401 itself, so API clients get JSON rather than a redirect.
fn is_public(path: &str) -> bool {
    is_anonymous_only(path)
        || path == "/login"
        || path.starts_with("/api/")
        || path.starts_with("/auth/")
}

/// Paths that never need to know the caller (no session lookup for them).
fn is_anonymous_only(path: &str) -> bool {
    matches!(path, "/favicon.svg" | "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/pkg/")
}

/// The client's address: the peer, unless the peer is a trusted proxy, in
/// which case the nearest `X-Forwarded-For` entry that is not one.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded: Option<&str>,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let hops = forwarded.unwrap_or_default().split(',').rev();
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(peer)
}

pub fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

pub async fn resolve_caller(
    State(state): State<AuthState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client_addr = client_address(peer, forwarded, &state.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let path = req.uri().path().to_string();
    let principal = if is_anonymous_only(&path) {
        None
    } else if let Some(secret) = bearer(&req) {
        match tokens::authenticate(&state.store, secret).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                return ApiError(AppError::Invalid(
                    "the API token is unknown or revoked; create a new one on the Tokens page or with `rollout-console token create`".into(),
                ))
                .with_status(axum::http::StatusCode::UNAUTHORIZED)
            }
            Err(e) => return ApiError(AppError::from(e)).into_response(),
        }
    } else if let Some(session) = req.extensions().get::<Session>().cloned() {
        match session_principal(&state, &session).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading the session failed");
                return ApiError(AppError::Internal).into_response();
            }
        }
    } else {
        None
    };
    if principal.is_none()
        && matches!(*req.method(), Method::GET | Method::HEAD)
        && !is_public(&path)
    {
        let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let next: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    req.extensions_mut().insert(Caller {
        principal,
        client_addr,
        user_agent,
    });
    next.run(req).await
}

/// The signed-in user, if the session is live and the user may still sign in;
/// otherwise the session is ended here, server-side.
async fn session_principal(
    state: &AuthState,
    session: &Session,
) -> Result<Option<Principal>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(mut data) = session.get::<SessionData>(session::KEY).await? else {
        return Ok(None);
    };
    let now = now_ms();
    let touch = match session::judge(&data, state.timeouts, now) {
        Verdict::Live { touch } => touch,
        Verdict::IdleTimeout | Verdict::AbsoluteTimeout => {
            session.flush().await?;
            return Ok(None);
        }
    };
    let mut conn = state.store.pool().acquire().await?;
    let user = users::by_id(&mut conn, &data.user_id).await?;
    drop(conn);
    match user {
        Some(u) if u.disabled_at_ms.is_none() && data.login_at_ms >= u.sessions_valid_after_ms => {
            if touch {
                data.last_seen_ms = now;
                session.insert(session::KEY, &data).await?;
            }
            Ok(Some(u.principal()))
        }
        _ => {
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Whether a long-lived answer (an SSE stream) may go on delivering: the
/// user is still enabled and their session still exists and is live, or the
/// token is not revoked. Asked again and again while the answer is open.
pub async fn still_allowed(state: &AuthState, principal: &Principal, session: &Session) -> bool {
    use tower_sessions::SessionStore;
    match principal {
        Principal::User { id, .. } => {
            let Ok(mut conn) = state.store.pool().acquire().await else {
                return false;
            };
            let user = users::by_id(&mut conn, id).await.ok().flatten();
            drop(conn);
            let Some(user) = user.filter(|u| u.disabled_at_ms.is_none()) else {
                return false;
            };
            let Some(sid) = session.id() else {
                return false;
            };
            let data = match state.sessions.load(&sid).await {
                Ok(Some(record)) => record
                    .data
                    .get(session::KEY)
                    .and_then(|v| serde_json::from_value::<SessionData>(v.clone()).ok()),
                _ => None,
            };
            data.is_some_and(|d| {
                d.user_id == user.id
                    && d.login_at_ms >= user.sessions_valid_after_ms
                    && !matches!(
                        session::judge(&d, state.timeouts, now_ms()),
                        Verdict::IdleTimeout | Verdict::AbsoluteTimeout
                    )
            })
        }
        Principal::Token { id, .. } => tokens::is_live(&state.store, id).await.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = [ip("10.0.0.5")];
        let fwd = Some("203.0.113.9, 198.51.100.7");
        assert_eq!(
            client_address(Some(ip("192.0.2.1")), fwd, &proxy),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.5")), fwd, &proxy),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.5")), None, &proxy),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.5")), Some("junk"), &proxy),
            Some(ip("10.0.0.5"))
        );
    }
}
