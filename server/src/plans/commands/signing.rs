//! A passkey-signed decision: the assertion must answer a challenge handed
//! out to this person for exactly this decision (plan, phase, verdict, the
//! evidence as it stands now, a nonce), be signed by one of their
//! registered passkeys, and be used once. What the trail keeps of it lets
//! anyone check it again without the console (`audit::signed`).
use app::dto::plan_commands::SignedAssertion;
use serde_json::{json, Value};

use super::invalid;
use crate::audit::signed::decision_doc;
use crate::auth::passkeys;
use crate::plans::error::PlanError;
use crate::webauthn::{self, from_b64url, Expect};

/// The assertion's proof, for the decision's audit event.
pub(super) async fn verify(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    (plan_id, phase_id, verdict, evidence): (&str, &str, &str, &str),
    s: SignedAssertion,
    now: i64,
) -> Result<Value, PlanError> {
    let challenge = passkeys::take(conn, s.nonce.trim(), (user_id, "decide"), now)
        .await?
        .ok_or_else(|| {
            invalid(
                "signature: its challenge is unknown, used, expired or someone else's; sign again",
            )
        })?;
    let doc = decision_doc(plan_id, phase_id, verdict, evidence, &challenge.nonce);
    if challenge.binds != doc {
        return Err(invalid(
            "signature: it was made for another decision or for evidence that has changed since; reload, review and sign again",
        ));
    }
    let key = passkeys::by_credential(conn, s.credential_id.trim())
        .await?
        .filter(|k| k.user_id == user_id)
        .ok_or_else(|| invalid("signature: made with a passkey that is not one of yours"))?;
    let bytes =
        |field: &str, text: &str| from_b64url(&format!("signature.{field}"), text).map_err(invalid);
    let challenge_bytes = bytes("challenge", &challenge.challenge)?;
    let expect = Expect {
        rp_id: &challenge.rp_id,
        origin: &challenge.origin,
        challenge: &challenge_bytes,
    };
    let count = webauthn::verify_assertion(
        &bytes("public_key", &key.public_key)?,
        &bytes("authenticator_data", &s.authenticator_data)?,
        &bytes("client_data_json", &s.client_data_json)?,
        &bytes("signature", &s.signature)?,
        &expect,
    )
    .map_err(|e| invalid(format!("signature: {e}")))?;
    if !passkeys::used(conn, &key, count, now).await? {
        return Err(invalid(
            "signature: the passkey's counter went backwards (a copied key?); it is not accepted",
        ));
    }
    Ok(json!({
        "signed": doc,
        "credential_id": key.credential_id,
        "public_key": key.public_key,
        "authenticator_data": s.authenticator_data,
        "client_data_json": s.client_data_json,
        "signature": s.signature,
        "rp_id": challenge.rp_id,
        "origin": challenge.origin,
    }))
}
