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
use app::dto::audit::AuditEvent;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of event #1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event as the chain sees it, borrowed from wherever it lives (a
/// database row, a stored [`AuditEvent`], an event being appended). `details`
/// is the canonical JSON text (see [`canonical`]), hashed as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRef<'a> {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub details: &'a str,
    pub client_addr: &'a str,
    pub user_agent: &'a str,
}

impl<'a> From<&'a AuditEvent> for EventRef<'a> {
    fn from(e: &'a AuditEvent) -> Self {
        EventRef {
            seq: e.seq,
            at_ms: e.at_ms,
            actor_kind: &e.actor_kind,
            actor_id: &e.actor_id,
            actor_name: &e.actor_name,
            action: &e.action,
            subject: &e.subject,
            details: &e.details,
            client_addr: &e.client_addr,
            user_agent: &e.user_agent,
        }
    }
}

impl EventRef<'_> {
    pub fn canonical_json(&self) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_canonical(&mut out);
        String::from_utf8(out).expect("canonical JSON is UTF-8")
    }

    pub fn hash(&self, prev_hash: &str) -> String {
        link_hash(prev_hash, &self.canonical_json())
    }

    /// Appends the canonical JSON to `out`. Keys in sorted order, written out
    /// by hand: no map, no allocation.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut int = IntBuf([0; 20]);
        out.extend_from_slice(b"{\"action\":");
        write_str(out, self.action);
        out.extend_from_slice(b",\"actor_id\":");
        write_str(out, self.actor_id);
        out.extend_from_slice(b",\"actor_kind\":");
        write_str(out, self.actor_kind);
        out.extend_from_slice(b",\"actor_name\":");
        write_str(out, self.actor_name);
        out.extend_from_slice(b",\"at_ms\":");
        out.extend_from_slice(int.format(self.at_ms).as_bytes());
        out.extend_from_slice(b",\"client_addr\":");
        write_str(out, self.client_addr);
        out.extend_from_slice(b",\"details\":");
        out.extend_from_slice(self.details.as_bytes());
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(int.format(self.seq).as_bytes());
        out.extend_from_slice(b",\"subject\":");
        write_str(out, self.subject);
        out.extend_from_slice(b",\"user_agent\":");
        write_str(out, self.user_agent);
        out.push(b'}');
    }
}

/// Formats integers without allocating.
struct IntBuf([u8; 20]);

impl IntBuf {
    fn format(&mut self, n: i64) -> &str {
        // 19 digits and a sign fit in 20 bytes.
        let mut i = self.0.len();
        let mut v = n.unsigned_abs();
        loop {
            i -= 1;
            self.0[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            self.0[i] = b'-';
        }
        std::str::from_utf8(&self.0[i..]).expect("ASCII digits")
    }
}

/// A JSON string with the fixed escaping of RFC 8259 as serde_json writes it:
/// `\"` `\\` `\n` `\r` `\t` `\b` `\f`, `\u00XX` for other controls, everything
/// else literal UTF-8. Runs of plain bytes are copied at once.
fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Hashes links with one reusable buffer.
#[derive(Default)]
pub struct LinkHasher {
    buf: Vec<u8>,
}

impl LinkHasher {
    /// `SHA-256(prev_hash ‖ canonical_json(event))`.
    pub fn digest(&mut self, prev_hash: &str, event: &EventRef<'_>) -> [u8; 32] {
        self.buf.clear();
        self.buf.extend_from_slice(prev_hash.as_bytes());
        event.write_canonical(&mut self.buf);
        Sha256::digest(&self.buf).into()
    }
}

/// Canonical JSON of any value: sorted keys at every depth, no whitespace.
pub fn canonical(value: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, value);
    String::from_utf8(out).expect("canonical JSON is UTF-8")
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => write_list(out, b"[]", items.iter(), write_value),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            write_list(out, b"{}", keys.into_iter(), |out, key| {
                write_str(out, key);
                out.push(b':');
                write_value(out, &map[key]);
            });
        }
    }
}

/// `brackets[0]`, the items written by `each` and separated by commas,
/// `brackets[1]`.
fn write_list<T>(
    out: &mut Vec<u8>,
    brackets: &[u8; 2],
    items: impl Iterator<Item = T>,
    mut each: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(brackets[0]);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item);
    }
    out.push(brackets[1]);
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

/// Does `hex` spell `digest` (lower-case)? Compares without allocating.
pub fn hex_eq(digest: &[u8; 32], hex: &str) -> bool {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let h = hex.as_bytes();
    h.len() == 64
        && digest.iter().enumerate().all(|(i, b)| {
            h[2 * i] == DIGITS[(b >> 4) as usize] && h[2 * i + 1] == DIGITS[(b & 15) as usize]
        })
}

/// Checks one stored event against the link before it.
pub fn check_link(
    hasher: &mut LinkHasher,
    expected_seq: i64,
    expected_prev: &str,
    event: &EventRef<'_>,
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
    if !hex_eq(&hasher.digest(stored_prev, event), stored_hash) {
        return Err(Break::HashMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(seq: i64) -> AuditEvent {
        AuditEvent {
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
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn r(e: &AuditEvent) -> EventRef<'_> {
        EventRef::from(e)
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let c = r(&event(7)).canonical_json();
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
        assert_eq!(r(&a).hash(GENESIS), r(&b).hash(GENESIS));
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
        let mut hasher = LinkHasher::default();
        let e = event(1);
        let h = r(&e).hash(GENESIS);
        let mut check = |seq, prev: &str, ev: &AuditEvent| {
            check_link(&mut hasher, seq, prev, &r(ev), GENESIS, &h)
        };
        assert_eq!(check(1, GENESIS, &e), Ok(()));
        let mut altered = e.clone();
        altered.actor_name = "mallory".into();
        assert_eq!(check(1, GENESIS, &altered), Err(Break::HashMismatch));
        let mut altered = e.clone();
        altered.details = canonical(&json!({"b": 2, "a": {"z": [1, "x"], "y": null}}));
        assert_eq!(check(1, GENESIS, &altered), Err(Break::HashMismatch));
        assert_eq!(
            check(2, GENESIS, &e),
            Err(Break::SeqGap {
                expected: 2,
                found: 1
            })
        );
        assert_eq!(check(1, &h.clone(), &e), Err(Break::PrevHashMismatch));
        assert!(!hex_eq(&[0; 32], "00"), "length counts");
    }

    #[test]
    fn string_escaping_is_serde_jsons() {
        for s in [
            "plain",
            "quote \" and \\ back",
            "tab\tnl\ncr\r",
            "\u{0}\u{1f}\u{8}\u{c}\u{7f}",
            "ünï 😀 \u{2028}",
            "",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn integers_format_like_display() {
        let mut b = IntBuf([0; 20]);
        for n in [0, 7, -7, 1_795_564_800_123, i64::MAX, i64::MIN] {
            assert_eq!(b.format(n), n.to_string());
        }
    }
}
