//! Passkeys: a person registers WebAuthn credentials (their public keys are
//! kept, and the registration is an audit event that names the key, so an
//! auditor can tell which key was whose from the trail alone), and the
//! console hands out single-use challenges — for a registration, or bound
//! to a document such as a gate decision — that expire after five minutes.
use app::access::Principal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::error::IdentityError;
use super::password::random_bytes;
use crate::audit::{self, ClientInfo};
use crate::db::{Store, StoreError};
use crate::webauthn::{self, b64url, from_b64url, Expect};

/// How long a challenge may be answered.
const CHALLENGE_MS: i64 = 5 * 60_000;
/// At most this many passkeys a person.
const MAX_PASSKEYS: i64 = 20;

/// Where the ceremony happens: the console's origin and its host (the
/// relying party).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub origin: String,
    pub rp_id: String,
}

impl Party {
    /// From the console's origin (`public_url`, or the request's host).
    pub fn of(origin: &str) -> Option<Party> {
        let url = url::Url::parse(origin).ok()?;
        Some(Party {
            origin: origin.trim_end_matches('/').to_string(),
            rp_id: url.host_str()?.to_string(),
        })
    }
}

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Passkey {
    pub credential_id: String,
    pub user_id: String,
    pub name: String,
    /// COSE_Key, base64url.
    pub public_key: String,
    pub sign_count: i64,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// A challenge as handed out.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Challenge {
    pub nonce: String,
    pub user_id: String,
    pub purpose: String,
    pub binds: String,
    /// base64url of the bytes the authenticator signs over.
    pub challenge: String,
    pub rp_id: String,
    pub origin: String,
    pub expires_ms: i64,
}

/// A new challenge for `user_id`: for a registration (`binds` empty, the
/// challenge is random), or committing to `binds` (the challenge is its
/// SHA-256, and `binds` names the nonce so no two are alike).
pub async fn issue(
    store: &Store,
    user_id: &str,
    purpose: &str,
    party: &Party,
    bind: impl FnOnce(&str) -> String,
    now: i64,
) -> Result<Challenge, StoreError> {
    let nonce = b64url(&random_bytes::<32>());
    let binds = bind(&nonce);
    let challenge = if binds.is_empty() {
        nonce.clone()
    } else {
        use sha2::{Digest, Sha256};
        b64url(&Sha256::digest(binds.as_bytes()))
    };
    let c = Challenge {
        nonce,
        user_id: user_id.into(),
        purpose: purpose.into(),
        binds,
        challenge,
        rp_id: party.rp_id.clone(),
        origin: party.origin.clone(),
        expires_ms: now + CHALLENGE_MS,
    };
    let mut conn = store.pool().acquire().await?;
    sqlx::query("DELETE FROM webauthn_challenges WHERE expires_ms < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO webauthn_challenges (nonce, user_id, purpose, binds, challenge, rp_id, origin, expires_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&c.nonce)
    .bind(&c.user_id)
    .bind(&c.purpose)
    .bind(&c.binds)
    .bind(&c.challenge)
    .bind(&c.rp_id)
    .bind(&c.origin)
    .bind(c.expires_ms)
    .execute(&mut *conn)
    .await?;
    Ok(c)
}

/// Takes (deletes) the challenge `nonce` if it was made for `user_id` and
/// `purpose` and has not expired; `None` otherwise (used, expired, not
/// theirs).
pub async fn take(
    conn: &mut AnyConnection,
    nonce: &str,
    (user_id, purpose): (&str, &str),
    now: i64,
) -> Result<Option<Challenge>, StoreError> {
    let found: Option<Challenge> = sqlx::query_as(
        "SELECT nonce, user_id, purpose, binds, challenge, rp_id, origin, expires_ms \
         FROM webauthn_challenges WHERE nonce = $1",
    )
    .bind(nonce)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(c) = found else { return Ok(None) };
    let gone = sqlx::query("DELETE FROM webauthn_challenges WHERE nonce = $1")
        .bind(nonce)
        .execute(&mut *conn)
        .await?;
    let ok = gone.rows_affected() == 1
        && c.user_id == user_id
        && c.purpose == purpose
        && c.expires_ms >= now;
    Ok(ok.then_some(c))
}

pub async fn of_user(conn: &mut AnyConnection, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT credential_id, user_id, name, public_key, sign_count, created_ms, last_used_ms \
         FROM passkeys WHERE user_id = $1 ORDER BY created_ms",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn by_credential(
    conn: &mut AnyConnection,
    credential_id: &str,
) -> Result<Option<Passkey>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT credential_id, user_id, name, public_key, sign_count, created_ms, last_used_ms \
         FROM passkeys WHERE credential_id = $1",
    )
    .bind(credential_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Records a use: the authenticator's counter, when it counts (a clone of
/// the key would fall behind it: refused).
pub async fn used(
    conn: &mut AnyConnection,
    key: &Passkey,
    count: u32,
    now: i64,
) -> Result<bool, StoreError> {
    let count = i64::from(count);
    if count != 0 && count <= key.sign_count {
        return Ok(false);
    }
    sqlx::query("UPDATE passkeys SET sign_count = $1, last_used_ms = $2 WHERE credential_id = $3")
        .bind(count)
        .bind(now)
        .bind(&key.credential_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// What a browser sends back from `navigator.credentials.create`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewPasskey {
    pub nonce: String,
    pub name: String,
    /// base64url
    pub client_data_json: String,
    /// base64url
    pub attestation_object: String,
}

/// Registers the passkey `new` for `who`, in one transaction with its
/// audit event (which names the key).
pub async fn register(
    store: &Store,
    who: &Principal,
    client: &ClientInfo,
    new: NewPasskey,
    now: i64,
) -> Result<Passkey, IdentityError> {
    let Principal::User { id, username, .. } = who else {
        return Err(IdentityError::Forbidden(
            "register a passkey: a person does, not a token".into(),
        ));
    };
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(IdentityError::Invalid(
            "name: say which device it is, 1 to 64 characters (e.g. \"work laptop\")".into(),
        ));
    }
    let client_data =
        from_b64url("client_data_json", &new.client_data_json).map_err(IdentityError::Invalid)?;
    let object = from_b64url("attestation_object", &new.attestation_object)
        .map_err(IdentityError::Invalid)?;
    let mut tx = store.begin_write().await?;
    let challenge = take(&mut tx, &new.nonce, (id, "register"), now)
        .await?
        .ok_or_else(|| {
            IdentityError::Invalid(
                "nonce: this registration's challenge is unknown, used or expired; start again"
                    .into(),
            )
        })?;
    let bytes = from_b64url("challenge", &challenge.challenge).map_err(IdentityError::Invalid)?;
    let expect = Expect {
        rp_id: &challenge.rp_id,
        origin: &challenge.origin,
        challenge: &bytes,
    };
    let made = webauthn::verify_registration(&client_data, &object, &expect)
        .map_err(|e| IdentityError::Invalid(format!("the passkey was not registered: {e}")))?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    if count >= MAX_PASSKEYS {
        return Err(IdentityError::Invalid(format!(
            "you have {MAX_PASSKEYS} passkeys; remove one first"
        )));
    }
    let key = Passkey {
        credential_id: b64url(&made.credential_id),
        user_id: id.clone(),
        name: name.to_string(),
        public_key: b64url(&made.public_key),
        sign_count: i64::from(made.sign_count),
        created_ms: now,
        last_used_ms: None,
    };
    let inserted = sqlx::query(
        "INSERT INTO passkeys (credential_id, user_id, name, public_key, sign_count, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&key.credential_id)
    .bind(&key.user_id)
    .bind(&key.name)
    .bind(&key.public_key)
    .bind(key.sign_count)
    .bind(key.created_ms)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    if inserted.rows_affected() == 0 {
        return Err(IdentityError::Invalid(
            "this passkey is registered already".into(),
        ));
    }
    audit::append(
        &mut tx,
        now,
        &super::actor_of(who),
        client,
        "passkey.register",
        &format!("user:{username}"),
        json!({ "credential_id": key.credential_id, "name": key.name, "public_key": key.public_key, "alg": webauthn::ES256 }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(key)
}

/// Removes one of `who`'s passkeys (decisions it signed keep their proof).
pub async fn remove(
    store: &Store,
    who: &Principal,
    client: &ClientInfo,
    credential_id: &str,
    now: i64,
) -> Result<(), IdentityError> {
    let Principal::User { id, username, .. } = who else {
        return Err(IdentityError::Forbidden(
            "remove a passkey: a person does".into(),
        ));
    };
    let mut tx = store.begin_write().await?;
    let gone = sqlx::query("DELETE FROM passkeys WHERE credential_id = $1 AND user_id = $2")
        .bind(credential_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    if gone.rows_affected() == 0 {
        return Err(IdentityError::NotFound(format!(
            "your passkey {credential_id:?}"
        )));
    }
    audit::append(
        &mut tx,
        now,
        &super::actor_of(who),
        client,
        "passkey.remove",
        &format!("user:{username}"),
        json!({ "credential_id": credential_id }),
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
