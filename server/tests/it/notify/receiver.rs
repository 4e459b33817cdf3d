//! A webhook receiver on loopback, as a team would write one: it checks
//! each delivery's Standard Webhooks signature itself (HMAC-SHA256 over
//! `id.timestamp.body`), keeps every attempt it saw, and can be down (503).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key the tests sign with (`whsec_` + base64 of 32 bytes).
pub const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS1yZWNlaXZlci0zMmI=";

#[derive(Debug, Clone)]
pub struct Seen {
    /// The path's last segment: which endpoint posted.
    pub endpoint: String,
    pub id: String,
    pub body: serde_json::Value,
    /// Whether the signature verified (None: there was none).
    pub signed: Option<bool>,
    /// Whether the receiver was up and took it.
    pub taken: bool,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub down: Arc<AtomicBool>,
}

impl Receiver {
    /// Serves on 127.0.0.1 at a free port; returns its base URL.
    pub async fn start(&self) -> String {
        let app = axum::Router::new()
            .route("/{endpoint}", axum::routing::post(take))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Every attempt seen by `endpoint`.
    pub fn attempts(&self, endpoint: &str) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.endpoint == endpoint)
            .cloned()
            .collect()
    }

    /// What `endpoint` took, deduplicated by idempotency key, in the
    /// order first taken.
    pub fn taken(&self, endpoint: &str) -> Vec<Seen> {
        let mut ids = std::collections::HashSet::new();
        self.attempts(endpoint)
            .into_iter()
            .filter(|s| s.taken && ids.insert(s.id.clone()))
            .collect()
    }

    /// Waits until `endpoint` took something `pred` accepts.
    pub async fn wait_for(&self, endpoint: &str, secs: u64, pred: impl Fn(&Seen) -> bool) -> Seen {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(s) = self.taken(endpoint).into_iter().find(&pred) {
                return s;
            }
            assert!(
                std::time::Instant::now() < until,
                "{endpoint} took nothing matching within {secs} s; it saw {:#?}",
                self.attempts(endpoint)
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

async fn take(
    State(r): State<Receiver>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let id = header("webhook-id");
    let signature = header("webhook-signature");
    let signed = (!signature.is_empty())
        .then(|| verify(&id, &header("webhook-timestamp"), &body, &signature));
    let taken = !r.down.load(Ordering::SeqCst);
    r.seen.lock().unwrap().push(Seen {
        endpoint,
        id,
        body: serde_json::from_slice(&body).unwrap_or_default(),
        signed,
        taken,
    });
    if taken {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The Standard Webhooks check, written from the specification.
pub fn verify(id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine.decode(SECRET.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - server::system::now_ms() / 1000).abs() < 300);
    fresh && signature.split(' ').any(|s| s == expected)
}
