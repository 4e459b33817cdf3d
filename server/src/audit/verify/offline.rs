//! Verifying an export (`audit export --format jsonl`) without the console
//! or its database: every event's hash and its link to the one before (from
//! the first event exported, whose own `prev_hash` is taken as given), and
//! every passkey-signed decision in it (`audit::signed`).
use app::dto::audit::AuditEvent;

use crate::audit::chain::{canonical, check_link, EventRef, LinkHasher};
use crate::audit::signed;

/// What an export proves.
#[derive(Debug, Default)]
pub struct Offline {
    pub events: usize,
    /// The first link that does not hold, as a sentence.
    pub broken: Option<String>,
    pub signed_checked: usize,
    pub signed_bad: Vec<signed::Bad>,
}

impl Offline {
    pub fn holds(&self) -> bool {
        self.broken.is_none() && self.signed_bad.is_empty()
    }
}

/// Reads the export's lines; a line that is not an event is an error naming it.
pub fn read(text: &str) -> Result<Vec<AuditEvent>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not JSON ({e})", n + 1))?;
            let s = |k: &str| {
                v[k].as_str()
                    .map(String::from)
                    .ok_or(format!("line {}: no {k}", n + 1))
            };
            let i = |k: &str| v[k].as_i64().ok_or(format!("line {}: no {k}", n + 1));
            Ok(AuditEvent {
                seq: i("seq")?,
                at_ms: i("at_ms")?,
                actor_kind: s("actor_kind")?,
                actor_id: s("actor_id")?,
                actor_name: s("actor_name")?,
                action: s("action")?,
                subject: s("subject")?,
                details: match &v["details"] {
                    serde_json::Value::String(text) => text.clone(),
                    other => canonical(other),
                },
                client_addr: s("client_addr")?,
                user_agent: s("user_agent")?,
                prev_hash: s("prev_hash")?,
                hash: s("hash")?,
            })
        })
        .collect()
}

/// Checks `events` (an export, oldest first).
pub fn verify(events: &[AuditEvent]) -> Offline {
    let mut hasher = LinkHasher::default();
    let mut broken = None;
    let mut prev: Option<&AuditEvent> = None;
    for e in events {
        let (expected_seq, expected_prev) = match prev {
            Some(p) => (p.seq + 1, p.hash.as_str()),
            None => (e.seq, e.prev_hash.as_str()),
        };
        if let Err(b) = check_link(
            &mut hasher,
            expected_seq,
            expected_prev,
            &EventRef::from(e),
            &e.prev_hash,
            &e.hash,
        ) {
            broken = Some(format!("event #{}: {}", e.seq, b.describe()));
            break;
        }
        prev = Some(e);
    }
    let (signed_checked, signed_bad) = signed::check(events);
    Offline {
        events: events.len(),
        broken,
        signed_checked,
        signed_bad,
    }
}
