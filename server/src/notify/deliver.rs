//! Posting deliveries: signed, in the trail's order, each attempt with the
//! same `webhook-id`; a failure waits exponentially longer (1 s, 2 s, 4 s …
//! up to 5 min) and holds back the endpoint's later deliveries, which keep
//! their order; after three days one is given up (the delivery log and its
//! metric say so, and an admin can send it again).
use std::time::Duration;

use crate::db::{Store, StoreError};
use crate::system::now_ms;

use super::endpoint::Endpoint;
use super::message::{self, Context};
use super::store::{self, Attempt, Delivery, DELIVERED, FAILED, PENDING};
use super::Notifier;

/// One attempt's limit.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a worker holds a delivery it is sending (beyond `TIMEOUT`, so
/// another instance never sends it at the same time).
const HOLD_MS: i64 = 30_000;
const MAX_BACKOFF_MS: i64 = 300_000;
/// A delivery still failing this long after its event is given up.
pub const GIVE_UP_MS: i64 = 72 * 3_600_000;
/// The most of a refusal's body kept as its error.
const ERROR_CHARS: usize = 300;

/// The wait before attempt `attempts + 1`.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(0, 20) as u32;
    (1_000i64 << exp).min(MAX_BACKOFF_MS)
}

pub(super) async fn send_due(n: &Notifier, endpoint: &Endpoint) -> Result<(), StoreError> {
    loop {
        let now = now_ms();
        let Some(d) = store::take_next(&n.store, &endpoint.name, now, HOLD_MS).await? else {
            return Ok(());
        };
        let sent = send(n, endpoint, &d).await;
        let now = now_ms();
        let attempt = match &sent {
            Ok(status) => Attempt {
                status: DELIVERED,
                http_status: Some(*status),
                error: None,
                next_at_ms: now,
            },
            Err((status, error)) => Attempt {
                status: if now - d.created_ms >= GIVE_UP_MS {
                    FAILED
                } else {
                    PENDING
                },
                http_status: *status,
                error: Some(error),
                next_at_ms: now + backoff_ms(d.attempts),
            },
        };
        n.metrics.attempted(&endpoint.name, attempt.status);
        store::record(&n.store, &d, attempt, now).await?;
        if sent.is_err() {
            return Ok(());
        }
    }
}

/// Posts one delivery: `Ok(status)` for a 2xx answer, else the status (if
/// any) and what went wrong, without the URL (a Slack webhook's is secret).
async fn send(
    n: &Notifier,
    endpoint: &Endpoint,
    d: &Delivery,
) -> Result<i64, (Option<i64>, String)> {
    let event = crate::audit::query::one(&n.store, d.seq)
        .await
        .map_err(|e| (None, format!("reading event {} failed: {e}", d.seq)))?
        .ok_or_else(|| (None, format!("event {} is not in the trail", d.seq)))?;
    let plan_name = plan_name(&n.store, &event.subject).await;
    let body = message::body(
        endpoint.format,
        &event,
        &Context {
            plan_name: plan_name.as_deref(),
            base_url: &n.base_url,
        },
    );
    let timestamp = now_ms() / 1000;
    let mut request = n
        .client
        .post(endpoint.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &d.msg_id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = &endpoint.secret {
        request = request.header(
            "webhook-signature",
            secret.signature(&d.msg_id, timestamp, &body),
        );
    }
    let answer = request
        .body(body)
        .send()
        .await
        .map_err(|e| (None, why(e.without_url())))?;
    let status = i64::from(answer.status().as_u16());
    if answer.status().is_success() {
        return Ok(status);
    }
    let text = answer.text().await.unwrap_or_default();
    let text: String = text.chars().take(ERROR_CHARS).collect();
    Err((Some(status), format!("HTTP {status}: {}", text.trim())))
}

/// What went wrong, down to its cause ("error sending request: client
/// error (Connect): tcp connect error: Connection refused"), without the URL.
fn why(e: reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

async fn plan_name(db: &Store, subject: &str) -> Option<String> {
    let id = subject.strip_prefix("plan:")?;
    let mut conn = db.pool().acquire().await.ok()?;
    crate::plans::store::name_of(&mut conn, id)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_five_minutes() {
        assert_eq!(backoff_ms(0), 1_000);
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(3), 8_000);
        assert_eq!(backoff_ms(9), 300_000);
        assert_eq!(backoff_ms(500), 300_000);
    }
}
