//! The hash chain, as pure functions: the canonical JSON of an event, its
//! hash, and the check of one link. No I/O here.
//!
//! `hash = hex(SHA-256(prev_hash ‖ canonical_json(event)))`, where `prev_hash`
//! is the 64-character hex hash of the previous event (64 zeros before the
//! first), and the canonical JSON is UTF-8 with no whitespace, object keys
//! sorted by their UTF-8 bytes at every depth, strings escaped as serde_json
//! escapes them, integers in plain decimal and other numbers in serde_json's
//! shortest round-trip form. The event object has exactly these keys:
//! `action, actor_id, actor_kind, actor_name, at_ms, client_addr, details,
//! seq, subject, user_agent`.
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of event #1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event as the chain sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainEvent {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub subject: String,
    /// The details object as canonical JSON text (see [`canonical`]); stored
    /// as is, so verification hashes the stored bytes.
    pub details: String,
    pub client_addr: String,
    pub user_agent: String,
}

impl ChainEvent {
    pub fn canonical_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        // Keys in sorted order, written out by hand: cheaper than building a map.
        field(&mut out, "action", &self.action, true);
        field(&mut out, "actor_id", &self.actor_id, false);
        field(&mut out, "actor_kind", &self.actor_kind, false);
        field(&mut out, "actor_name", &self.actor_name, false);
        out.push_str(",\"at_ms\":");
        out.push_str(&self.at_ms.to_string());
        field(&mut out, "client_addr", &self.client_addr, false);
        out.push_str(",\"details\":");
        out.push_str(&self.details);
        out.push_str(",\"seq\":");
        out.push_str(&self.seq.to_string());
        field(&mut out, "subject", &self.subject, false);
        field(&mut out, "user_agent", &self.user_agent, false);
        out.push('}');
        out
    }

    pub fn hash(&self, prev_hash: &str) -> String {
        link_hash(prev_hash, &self.canonical_json())
    }
}

fn field(out: &mut String, key: &str, value: &str, first: bool) {
    if !first {
        out.push(',');
    }
    write_string(out, key);
    out.push(':');
    write_string(out, value);
}

fn write_string(out: &mut String, s: &str) {
    // serde_json's string escaping is fixed (\" \\ \n \r \t \b \f, \u00XX for
    // other controls, everything else literal UTF-8), so it is canonical.
    out.push_str(&serde_json::to_string(s).expect("a str always serializes"));
}

/// Canonical JSON of any value: sorted keys at every depth, no whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value);
    out
}

fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
    }
}

/// `hex(SHA-256(prev_hash ‖ canonical))`.
pub fn link_hash(prev_hash: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical.as_bytes());
    hex(&h.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Why a link of the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The stored sequence skips or repeats: events were removed or inserted.
    SeqGap { expected: i64, found: i64 },
    /// `prev_hash` is not the hash of the event before.
    PrevHashMismatch,
    /// The stored hash is not the hash of the stored content: the row was altered.
    HashMismatch,
}

impl Break {
    pub fn describe(&self) -> String {
        match self {
            Break::SeqGap { expected, found } => format!(
                "expected event #{expected} but found #{found}: events are missing or were inserted"
            ),
            Break::PrevHashMismatch => {
                "its prev_hash is not the hash of the event before it".to_string()
            }
            Break::HashMismatch => {
                "its content no longer matches its hash: the row was altered".to_string()
            }
        }
    }
}

/// Checks one stored event against the link before it.
pub fn check_link(
    expected_seq: i64,
    expected_prev: &str,
    event: &ChainEvent,
    stored_prev: &str,
    stored_hash: &str,
) -> Result<(), Break> {
    if event.seq != expected_seq {
        return Err(Break::SeqGap {
            expected: expected_seq,
            found: event.seq,
        });
    }
    if stored_prev != expected_prev {
        return Err(Break::PrevHashMismatch);
    }
    if event.hash(stored_prev) != stored_hash {
        return Err(Break::HashMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(seq: i64) -> ChainEvent {
        ChainEvent {
            seq,
            at_ms: 1_764_000_000_000,
            actor_kind: "user".into(),
            actor_id: "u1".into(),
            actor_name: "alice".into(),
            action: "auth.login".into(),
            subject: "user:alice".into(),
            details: canonical(&json!({"b": 1, "a": {"z": [1, "x"], "y": null}})),
            client_addr: "127.0.0.1".into(),
            user_agent: "test \"agent\"".into(),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let c = event(7).canonical_json();
        assert_eq!(
            c,
            r#"{"action":"auth.login","actor_id":"u1","actor_kind":"user","actor_name":"alice","at_ms":1764000000000,"client_addr":"127.0.0.1","details":{"a":{"y":null,"z":[1,"x"]},"b":1},"seq":7,"subject":"user:alice","user_agent":"test \"agent\""}"#
        );
        // The same as a generic canonicalization of the parsed object.
        let parsed: Value = serde_json::from_str(&c).unwrap();
        assert_eq!(canonical(&parsed), c);
    }

    #[test]
    fn key_order_of_details_does_not_change_the_hash() {
        let a = event(1);
        let mut b = event(1);
        b.details =
            canonical(&serde_json::from_str(r#"{"a":{"z":[1,"x"],"y":null},"b":1}"#).unwrap());
        assert_eq!(a.hash(GENESIS), b.hash(GENESIS));
    }

    #[test]
    fn hash_is_sha256_of_prev_then_canonical() {
        // SHA-256("abc") is a published test vector.
        assert_eq!(
            link_hash("a", "bc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn any_change_breaks_the_link() {
        let e = event(1);
        let h = e.hash(GENESIS);
        assert_eq!(check_link(1, GENESIS, &e, GENESIS, &h), Ok(()));
        let mut altered = e.clone();
        altered.actor_name = "mallory".into();
        assert_eq!(
            check_link(1, GENESIS, &altered, GENESIS, &h),
            Err(Break::HashMismatch)
        );
        let mut altered = e.clone();
        altered.details = canonical(&json!({"b": 2, "a": {"z": [1, "x"], "y": null}}));
        assert_eq!(
            check_link(1, GENESIS, &altered, GENESIS, &h),
            Err(Break::HashMismatch)
        );
        assert_eq!(
            check_link(2, GENESIS, &e, GENESIS, &h),
            Err(Break::SeqGap {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(
            check_link(1, &h, &e, GENESIS, &h),
            Err(Break::PrevHashMismatch)
        );
    }
}
