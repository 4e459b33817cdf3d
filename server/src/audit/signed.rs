//! Passkey-signed gate decisions as the trail keeps them, and their check.
//! A signed decision's audit event carries the signed document (which
//! plan, which phase, which verdict, which evidence, which nonce), the
//! WebAuthn assertion over its SHA-256 and the public key it was checked
//! with; the key's registration (`passkey.register`) is an earlier event.
//! `check` needs nothing but the events: an auditor runs it on an export.
use std::collections::HashMap;

use app::dto::audit::AuditEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::chain::canonical;
use crate::webauthn::{self, b64url, from_b64url, Expect};

/// The document a decision's challenge is the SHA-256 of (canonical JSON).
pub fn decision_doc(
    plan_id: &str,
    phase_id: &str,
    verdict: &str,
    evidence_hash: &str,
    nonce: &str,
) -> String {
    canonical(&json!({
        "plan": plan_id, "phase": phase_id, "decision": verdict,
        "evidence_hash": evidence_hash, "nonce": nonce,
    }))
}

/// What went wrong with one signed decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub seq: i64,
    pub decision: String,
    pub why: String,
}

impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "signed decision {} (event #{}): {}",
            self.decision, self.seq, self.why
        )
    }
}

/// Every signed decision in `events` (oldest first) that does not prove
/// what its event says; and how many were checked.
pub fn check(events: &[AuditEvent]) -> (usize, Vec<Bad>) {
    let mut keys: HashMap<String, String> = HashMap::new();
    let mut checked = 0;
    let mut bad = Vec::new();
    for e in events {
        let Ok(d) = serde_json::from_str::<Value>(&e.details) else {
            continue;
        };
        if e.action == "passkey.register" {
            if let (Some(id), Some(key)) = (d["credential_id"].as_str(), d["public_key"].as_str()) {
                keys.insert(id.to_string(), key.to_string());
            }
            continue;
        }
        let verdict = match e.action.as_str() {
            "gate.approve" => "approve",
            "gate.reject" => "reject",
            _ => continue,
        };
        let Some(sig) = d.get("signature").filter(|s| s.is_object()) else {
            continue;
        };
        checked += 1;
        if let Err(why) = one(e, &d, sig, verdict, &keys) {
            bad.push(Bad {
                seq: e.seq,
                decision: d["decision"].as_str().unwrap_or("?").to_string(),
                why,
            });
        }
    }
    (checked, bad)
}

fn one(
    e: &AuditEvent,
    d: &Value,
    sig: &Value,
    verdict: &str,
    keys: &HashMap<String, String>,
) -> Result<(), String> {
    let s = |k: &str| sig[k].as_str().ok_or(format!("signature.{k} is missing"));
    let signed: Value = serde_json::from_str(s("signed")?)
        .map_err(|_| "the signed document is not JSON".to_string())?;
    let plan = e.subject.strip_prefix("plan:").unwrap_or_default();
    let expected = decision_doc(
        plan,
        d["phase_id"].as_str().unwrap_or_default(),
        verdict,
        d["evidence_hash"].as_str().unwrap_or_default(),
        signed["nonce"].as_str().unwrap_or_default(),
    );
    if canonical(&signed) != expected {
        return Err(format!(
            "the signature covers {} of evidence {} on plan {} phase {}, not what this event says ({verdict} of evidence {} on plan {plan} phase {})",
            signed["decision"], signed["evidence_hash"], signed["plan"], signed["phase"],
            d["evidence_hash"], d["phase_id"]
        ));
    }
    let credential = s("credential_id")?;
    let key = s("public_key")?;
    match keys.get(credential) {
        None => {
            return Err(format!(
                "key {credential} was never registered in this trail"
            ))
        }
        Some(registered) if registered != key => {
            return Err(format!(
                "key {credential} is not the key registered under that id"
            ))
        }
        Some(_) => {}
    }
    let challenge = Sha256::digest(expected.as_bytes());
    let expect = Expect {
        rp_id: s("rp_id")?,
        origin: s("origin")?,
        challenge: &challenge,
    };
    let bytes = |k: &str| from_b64url(&format!("signature.{k}"), s(k)?);
    webauthn::verify_assertion(
        &bytes("public_key")?,
        &bytes("authenticator_data")?,
        &bytes("client_data_json")?,
        &bytes("signature")?,
        &expect,
    )
    .map(|_| ())
}

/// The challenge (base64url) of a document.
pub fn challenge_of(doc: &str) -> String {
    b64url(&Sha256::digest(doc.as_bytes()))
}
