//! Who evaluates: a `flags:read` token, from `Authorization: Bearer` or
//! `X-API-Key`, within its rate limit, in the environment it is bound to.
use app::access::{Action, Principal};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{answer, internal, limit, wire, OfrepApi};

/// Why a request is not evaluated.
pub enum Denied {
    /// 401: no token, or not one the console knows.
    Unauthorized(&'static str),
    /// 403.
    Forbidden(String),
    /// 429, retry after this many seconds.
    Limited(u64),
    /// 400 (the failure names the flag a single evaluation asked for).
    Context {
        key: Option<String>,
        details: String,
    },
    /// 500, logged.
    Internal(String),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Unauthorized(details) => unauthorized(details),
            Denied::Forbidden(details) => answer(StatusCode::FORBIDDEN, wire::general(&details)),
            Denied::Limited(secs) => {
                let mut res = answer(
                    StatusCode::TOO_MANY_REQUESTS,
                    wire::general(&format!(
                        "this token is over its rate limit ([ofrep] requests_per_sec); retry in {secs} s"
                    )),
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                res
            }
            Denied::Context { key, details } => answer(
                StatusCode::BAD_REQUEST,
                wire::failure(key.as_deref(), wire::ErrorCode::InvalidContext, &details),
            ),
            Denied::Internal(e) => internal(e),
        }
    }
}

/// An authenticated token, and the secret it came with (for its stream ticket).
pub struct Reader {
    pub token_id: String,
    pub secret: String,
    /// The environment the token is bound to, if any.
    pub bound: Option<String>,
}

fn unauthorized(details: &str) -> Response {
    let mut res = answer(StatusCode::UNAUTHORIZED, wire::general(details));
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"ofrep\""),
    );
    res
}

/// The token's secret, from either header OFREP names.
fn secret(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    bearer.or(api_key).map(str::trim).filter(|s| !s.is_empty())
}

impl Reader {
    /// The request's token, if it may evaluate now; otherwise the answer.
    pub async fn of(api: &OfrepApi, headers: &HeaderMap) -> Result<Reader, Denied> {
        let Some(secret) = secret(headers) else {
            return Err(Denied::Unauthorized(
                "send a flags:read token as `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` \
                 (create one bound to an environment on the Tokens page)",
            ));
        };
        let principal = match crate::auth::tokens::authenticate_kept(&api.store, secret).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(Denied::Unauthorized(
                "the token is unknown or revoked; create a new flags:read token on the Tokens page",
            )),
            Err(e) => return Err(Denied::Internal(e.to_string())),
        };
        let Principal::Token {
            id, environment, ..
        } = &principal
        else {
            return Err(Denied::Unauthorized(
                "only API tokens evaluate flags over OFREP",
            ));
        };
        if !principal.allows(Action::ReadFlags) {
            return Err(Denied::Forbidden(
                "this token may not read flags; give the application a token with the flags:read scope"
                    .into(),
            ));
        }
        if let Err(wait) = api.limiter.take(id) {
            return Err(Denied::Limited(limit::retry_after_secs(wait)));
        }
        Ok(Reader {
            token_id: id.clone(),
            secret: secret.to_string(),
            bound: environment.clone(),
        })
    }

    /// The environment to evaluate in: the token's, which `asked` (the
    /// context's `environment`) may repeat but not change; a token bound to
    /// none must name one.
    /// `key`: the flag a single evaluation asks for (its failure names it).
    pub fn environment(
        &self,
        api: &OfrepApi,
        asked: Option<&str>,
        key: Option<&str>,
    ) -> Result<String, Denied> {
        let known = |e: &str| api.environments.iter().any(|x| x == e);
        let names = api.environments.join(", ");
        match (asked, &self.bound) {
            (Some(a), _) if !known(a) => Err(Denied::Context {
                key: key.map(String::from),
                details: format!("context.environment: {a:?} is not one of {names}"),
            }),
            (Some(a), Some(b)) if a != b => Err(Denied::Forbidden(format!(
                "this token evaluates flags in {b} only, not {a}"
            ))),
            (_, Some(b)) => Ok(b.clone()),
            (Some(a), None) => Ok(a.to_string()),
            (None, None) => Err(Denied::Context {
                key: key.map(String::from),
                details: format!(
                    "context.environment: this token is bound to no environment; name one of {names}, or use a token bound to one"
                ),
            }),
        }
    }
}
