//! "Waiting for you": the gates and change requests one person may decide
//! and has not, as JSON and as a live count (server-sent events) for the
//! header, which follows every change to any plan.
use std::convert::Infallible;
use std::time::Duration;

use app::access::Action;
use app::dto::live::Inbox;
use axum::extract::Extension;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::rest::PlansApi;
use crate::api_error::ApiError;
use crate::caller::Call;

/// The routes; `http` gives them their state.
pub fn router() -> axum::Router<PlansApi> {
    axum::Router::new()
        .route("/api/v1/inbox", axum::routing::get(inbox))
        .route("/api/v1/inbox/events", axum::routing::get(events))
}

/// What waits for the caller (a person who may approve gates; empty for
/// anyone else).
#[utoipa::path(get, path = "/api/v1/inbox", tag = "plans",
    responses((status = 200, body = Inbox), (status = 401)))]
pub async fn inbox(Call(state, caller): Call<PlansApi>) -> Result<Json<Inbox>, ApiError> {
    caller.require(Action::ViewConsole)?;
    Ok(Json(state.plans.waiting_for(&caller).await?))
}

/// How often an open stream checks that its caller may still listen.
const STILL_ALLOWED_EVERY: Duration = Duration::from_secs(2);

/// Server-sent events: `count` with how many items wait for the caller,
/// first at once and then whenever it changes.
#[utoipa::path(get, path = "/api/v1/inbox/events", tag = "plans",
    responses((status = 200, content_type = "text/event-stream", body = String), (status = 401)))]
pub async fn events(
    Call(state, caller): Call<PlansApi>,
    Extension(session): Extension<tower_sessions::Session>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let principal = caller.require(Action::ViewConsole)?.clone();
    let rx = state.events.subscribe();
    let tick = tokio::time::interval(STILL_ALLOWED_EVERY);
    let open = (rx, tick, (state, caller, principal, session), None::<usize>);
    let stream = stream::unfold(open, |(mut rx, mut tick, who, last)| async move {
        let (state, caller, principal, session) = &who;
        let count = |state: &PlansApi| {
            let state = state.clone();
            let caller = caller.clone();
            async move { Some(state.plans.waiting_for(&caller).await.ok()?.count()) }
        };
        if last.is_none() {
            let first = count(state).await?;
            let event = Event::default().event("count").data(first.to_string());
            return Some((Ok(event), (rx, tick, who, Some(first))));
        }
        loop {
            tokio::select! {
                received = rx.recv() => match received {
                    Ok(_) | Err(RecvError::Lagged(_)) => {
                        // One count for a burst of changes.
                        while rx.try_recv().is_ok() {}
                        let now = count(state).await;
                        if now.is_some() && now != last {
                            let event = Event::default().event("count").data(now?.to_string());
                            return Some((Ok(event), (rx, tick, who, now)));
                        }
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = tick.tick() => {
                    if !crate::auth::middleware::still_allowed(&state.auth, principal, session).await {
                        return None;
                    }
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
