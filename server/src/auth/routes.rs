//! Sign-in and sign-out as plain form posts, so they work before (and
//! without) the wasm: the answer is always a redirect.
use app::access::Principal;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use super::login::{self, Outcome};
use super::session::{self, SessionData};
use super::session_store;
use super::AuthState;
use super::{actor_of, client_of};
use crate::api_error::ApiError;
use crate::audit;
use crate::caller::Call;
use crate::system::now_ms;

/// The routes; `http` gives them their state with `with_state`.
pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/auth/login", post(sign_in))
        .route("/auth/logout", post(sign_out))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Only paths on this site: never `//host`, `https://…`, or anything a
/// browser would turn into one (backslashes, control characters it strips).
pub fn safe_next(next: &str) -> &str {
    let plain = !next.contains('\\') && !next.chars().any(|c| c.is_control());
    if plain && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn sign_in(
    Call(state, caller): Call<AuthState>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(&form.next).to_string();
    if form.username.trim().is_empty() || form.password.is_empty() {
        return Ok(
            Redirect::to(&format!("/login?error=missing&next={}", encode(&next))).into_response(),
        );
    }
    let client = client_of(&caller);
    let outcome = login::attempt(&state.store, &form.username, &form.password, &client)
        .await
        .map_err(|e| ApiError(e.into()))?;
    Ok(match outcome {
        Outcome::Success(user) => {
            // A new id at sign-in: an id planted before it is worth nothing after.
            let now = now_ms();
            let stored = async {
                session.cycle_id().await?;
                session
                    .insert(
                        session::KEY,
                        SessionData {
                            user_id: user.id.clone(),
                            login_at_ms: now,
                            last_seen_ms: now,
                        },
                    )
                    .await
            };
            stored.await?;
            Redirect::to(&next).into_response()
        }
        Outcome::Refused => {
            Redirect::to(&format!("/login?error=invalid&next={}", encode(&next))).into_response()
        }
        Outcome::Throttled(secs) => Redirect::to(&format!(
            "/login?error=throttled&retry={secs}&next={}",
            encode(&next)
        ))
        .into_response(),
    })
}

async fn sign_out(
    Call(state, caller): Call<AuthState>,
    session: Session,
) -> Result<Response, ApiError> {
    if let Some(principal @ Principal::User { username, .. }) = &caller.principal {
        // The session row goes in the same transaction as the event: the
        // trail never says "signed out" of a session that still works, and a
        // session never ends without its event.
        let session_id = session.id();
        let write = async {
            let mut tx = state.store.begin_write().await?;
            if let Some(id) = &session_id {
                session_store::delete(&mut tx, state.store.backend(), id).await?;
            }
            audit::append(
                &mut tx,
                now_ms(),
                &actor_of(principal),
                &client_of(&caller),
                "auth.logout",
                &format!("user:{username}"),
                json!({}),
            )
            .await?;
            tx.commit().await?;
            Ok::<_, crate::db::StoreError>(())
        };
        write.await?;
    }
    // Drops the cookie (and the row, when there was no signed-in user).
    session.flush().await?;
    Ok(Redirect::to("/login?signed_out=1").into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/audit?actor=x"), "/audit?actor=x");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/a\\b"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
