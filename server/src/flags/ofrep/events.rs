//! The bulk answer's event stream (OFREP ADR 0008): `GET /ofrep/v1/events`
//! sends `{"type": "refetchEvaluation", "etag": …}` each time the flags of
//! its environment change, so a browser's provider refetches without
//! polling. A browser's EventSource cannot send a token header, so the
//! address carries a ticket (`auth::tokens::stream_ticket`) good for a day;
//! the stream ends when its token is revoked.
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use super::access::Reader;
use super::{answer, internal, wire, OfrepApi};

/// How long a stream's address stays good.
const TICKET_MS: i64 = 24 * 60 * 60 * 1000;
/// How often an open stream checks that its token still lives.
const STILL_LIVE_EVERY: Duration = Duration::from_secs(30);

/// The stream's address for `reader` in `environment`: `public_url`'s
/// origin, or the host the request named. The ticket's end is rounded to
/// the hour, so the address does not change with every answer.
pub fn address(api: &OfrepApi, headers: &HeaderMap, reader: &Reader, environment: &str) -> String {
    const HOUR: i64 = 60 * 60 * 1000;
    let until = (crate::system::now_ms() + TICKET_MS) / HOUR * HOUR + HOUR;
    let ticket =
        crate::auth::tokens::stream_ticket(&reader.secret, &reader.token_id, environment, until);
    let origin = api.public_origin.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    });
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("environment", environment)
        .append_pair("ticket", &ticket)
        .finish();
    format!("{origin}/ofrep/v1/events?{query}")
}

#[derive(serde::Deserialize)]
pub struct StreamQuery {
    environment: String,
    ticket: String,
}

/// `GET /ofrep/v1/events?environment=…&ticket=…`.
pub async fn stream(State(api): State<OfrepApi>, Query(q): Query<StreamQuery>) -> Response {
    let holder = match crate::auth::tokens::stream_ticket_holder(
        &api.store,
        &q.ticket,
        &q.environment,
        crate::system::now_ms(),
    )
    .await
    {
        Ok(Some(id)) => id,
        Ok(None) => {
            return answer(
                StatusCode::UNAUTHORIZED,
                wire::general(
                    "the stream's ticket is unknown, expired or its token revoked; evaluate the flags again (POST /ofrep/v1/evaluate/flags) for a new address",
                ),
            )
        }
        Err(e) => return internal(e),
    };
    // The flags as they are now (not the empty set before a first read),
    // so the first event is a real change.
    if let Err(e) = api.flags.snapshot(&api.store).await {
        return internal(e);
    }
    let mut snapshots = api.flags.subscribe();
    let sent = snapshots.borrow_and_update().digest(&q.environment);
    let mut live = tokio::time::interval(STILL_LIVE_EVERY);
    live.tick().await;
    let open = (snapshots, sent, live, api, holder, q.environment);
    let events = stream::unfold(
        open,
        |(mut snapshots, mut sent, mut live, api, holder, environment)| async move {
            loop {
                tokio::select! {
                    read = snapshots.changed() => {
                        if read.is_err() {
                            return None;
                        }
                        let digest = snapshots.borrow_and_update().digest(&environment);
                        if digest != sent {
                            sent = digest;
                            break;
                        }
                    }
                    _ = live.tick() => {
                        if !crate::auth::tokens::is_live(&api.store, &holder).await.unwrap_or(true) {
                            return None;
                        }
                    }
                }
            }
            let data = serde_json::json!({ "type": "refetchEvaluation", "etag": &*sent });
            Some((
                Ok::<_, Infallible>(Event::default().data(data.to_string())),
                (snapshots, sent, live, api, holder, environment),
            ))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
