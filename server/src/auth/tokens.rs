//! API tokens for machines: `rct_` + 64 hex digits, shown once, stored as a
//! SHA-256 digest (the secret has 256 random bits, so a fast digest is safe
//! and lets every request be checked in one indexed lookup), scoped, revocable,
//! with the time of last use.
use app::access::{Principal, Scope};
use app::dto::identity::{CreatedToken, TokenSummary};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::error::IdentityError;
use super::password::random_bytes;
use crate::audit::{self, chain::hex, Actor, ClientInfo};
use crate::db::{Store, StoreError};
use crate::system::now_ms;

pub const PREFIX: &str = "rct_";
/// `last_used_at_ms` is written at most this often per token.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

const COLUMNS: &str = "SELECT id, name, scopes, created_by, created_at_ms, last_used_at_ms, \
     revoked_at_ms, environment FROM api_tokens";

fn decode(row: &AnyRow) -> Result<TokenSummary, sqlx::Error> {
    let scopes: String = row.try_get(2)?;
    Ok(TokenSummary {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        scopes: scopes
            .split(' ')
            .filter_map(|s| Scope::parse(s).ok())
            .collect(),
        created_by: row.try_get(3)?,
        created_at_ms: row.try_get(4)?,
        last_used_at_ms: row.try_get(5)?,
        revoked_at_ms: row.try_get(6)?,
        environment: row.try_get(7)?,
    })
}

pub async fn list(store: &Store) -> Result<Vec<TokenSummary>, IdentityError> {
    let rows = sqlx::query(&format!("{COLUMNS} ORDER BY created_at_ms DESC, id"))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
}

pub async fn create(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    name: &str,
    scopes: &[Scope],
    environment: Option<&str>,
    environments: &[String],
) -> Result<CreatedToken, IdentityError> {
    let owner = (creator_id(actor), actor.name().to_string());
    insert(
        store,
        actor,
        client,
        owner,
        name,
        scopes,
        environment,
        environments,
    )
    .await
}

/// A token made by the command line for the person it acts for, `owner`
/// (a username): it answers to them as one they made themselves would (its
/// changes are theirs, they cannot approve them, disabling them revokes
/// it). A plans:write token must have one.
#[allow(clippy::too_many_arguments)]
pub async fn create_for(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    owner: Option<&str>,
    name: &str,
    scopes: &[Scope],
    environment: Option<&str>,
    environments: &[String],
) -> Result<CreatedToken, IdentityError> {
    let owner = match owner {
        None if scopes.contains(&Scope::PlansWrite) => {
            return Err(IdentityError::Invalid(
                "owner: a plans:write token acts for a person; name the user it acts for \
                 (--owner USERNAME), who counts as the author of its changes and cannot approve them"
                    .into(),
            ))
        }
        None => (creator_id(actor), actor.name().to_string()),
        Some(owner) => {
            let user = {
                let mut conn = store.pool().acquire().await?;
                super::user_rows::by_username(&mut conn, owner).await?
            };
            let user = user.filter(|u| u.disabled_at_ms.is_none()).ok_or_else(|| {
                IdentityError::Invalid(format!(
                    "owner: no enabled user is called {owner:?} (see rollout-console user list)"
                ))
            })?;
            let label = format!("{} (via {})", user.username, creator_id(actor));
            (user.id, label)
        }
    };
    insert(
        store,
        actor,
        client,
        owner,
        name,
        scopes,
        environment,
        environments,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    (owner_id, owner_name): (String, String),
    name: &str,
    scopes: &[Scope],
    environment: Option<&str>,
    environments: &[String],
) -> Result<CreatedToken, IdentityError> {
    let name = name.trim();
    let environment = environment.map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = environment.filter(|e| !environments.iter().any(|x| x == e)) {
        return Err(IdentityError::Invalid(format!(
            "environment: {e:?} is not one of the console's environments ({})",
            environments.join(", ")
        )));
    }
    if scopes.contains(&Scope::FlagsRead) && environment.is_none() {
        return Err(IdentityError::Invalid(format!(
            "environment: a token that reads flags evaluates them in one environment; choose one of {}",
            environments.join(", ")
        )));
    }
    if name.is_empty() || name.chars().count() > 80 {
        return Err(IdentityError::Invalid(
            "name: give the token a name of 1 to 80 characters (what uses it)".to_string(),
        ));
    }
    if scopes.is_empty() {
        return Err(IdentityError::Invalid(format!(
            "scopes: choose at least one of {}",
            Scope::ALL.map(Scope::as_str).join(", ")
        )));
    }
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let secret = format!("{PREFIX}{}", hex(&random_bytes::<32>()));
    let id = uuid::Uuid::new_v4().simple().to_string();
    let now = now_ms();
    let scope_text = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO api_tokens (id, name, secret_hash, scopes, created_by, created_by_id, \
         created_at_ms, environment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(name)
    .bind(digest(&secret))
    .bind(&scope_text)
    .bind(&owner_name)
    .bind(&owner_id)
    .bind(now)
    .bind(environment)
    .execute(&mut *tx)
    .await?;
    let subject = format!("token:{id}");
    let details = json!({
        "name": name, "scopes": scope_text, "environment": environment,
        "owner": owner_name, "owner_id": owner_id,
    });
    audit::append(
        &mut tx,
        now,
        actor,
        client,
        "token.create",
        &subject,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        token: TokenSummary {
            id,
            name: name.to_string(),
            scopes,
            environment: environment.map(String::from),
            created_by: owner_name,
            created_at_ms: now,
            last_used_at_ms: None,
            revoked_at_ms: None,
        },
        secret,
    })
}

/// Who created a token, as `api_tokens.created_by_id` keeps it: a user's id
/// (so disabling that user revokes it, whatever their name), or the command
/// line's operating-system user.
pub fn creator_id(actor: &Actor) -> String {
    match actor {
        Actor::Cli { os_user } => format!("cli:{os_user}"),
        Actor::System => "system".to_string(),
        other => other.id().to_string(),
    }
}

/// Whom `actor`'s action answers to: `creator_id` for a person or the
/// command line, and for a token the one who created it. A change request a
/// token proposes is its creator's: they may not approve it themselves.
pub async fn answerable_id(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
) -> Result<String, StoreError> {
    let Actor::Token { id, .. } = actor else {
        return Ok(creator_id(actor));
    };
    let creator: Option<String> =
        sqlx::query_scalar("SELECT created_by_id FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    // A token from before creators were kept (0006 could not name one)
    // answers for itself.
    Ok(creator
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| id.clone()))
}

/// Revokes every live token `creator_id` created; how many there were.
pub async fn revoke_created_by(
    conn: &mut sqlx::AnyConnection,
    creator_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at_ms = $1 WHERE created_by_id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(now)
    .bind(creator_id)
    .execute(&mut *conn)
    .await
    .inspect(|_| forget_kept())?
    .rows_affected())
}

/// Whether token `id` exists and is not revoked.
pub async fn is_live(store: &Store, id: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens WHERE id = $1 AND revoked_at_ms IS NULL",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await?;
    Ok(n == 1)
}

pub async fn revoke(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    id: &str,
) -> Result<TokenSummary, IdentityError> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let row = sqlx::query(&format!("{COLUMNS} WHERE id = $1"))
        .bind(id.trim())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| IdentityError::NotFound(format!("token {:?}", id.trim())))?;
    let mut token = decode(&row)?;
    if token.revoked_at_ms.is_some() {
        return Err(IdentityError::Invalid(format!(
            "token {:?} is already revoked",
            token.name
        )));
    }
    sqlx::query("UPDATE api_tokens SET revoked_at_ms = $1 WHERE id = $2")
        .bind(now)
        .bind(&token.id)
        .execute(&mut *tx)
        .await?;
    let subject = format!("token:{}", token.id);
    let details = json!({ "name": token.name });
    audit::append(
        &mut tx,
        now,
        actor,
        client,
        "token.revoke",
        &subject,
        details,
    )
    .await?;
    tx.commit().await?;
    forget_kept();
    token.revoked_at_ms = Some(now);
    Ok(token)
}

/// How long a token checked against the store is believed without asking
/// it again (flag evaluations: no store query per request). A revocation
/// through this process forgets every kept token at once; through another
/// instance it takes effect here within this.
const KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(1);
/// At most this many tokens kept (an instance serves a few applications).
const KEPT_MAX: usize = 10_000;

type Kept = std::collections::HashMap<String, (std::time::Instant, Principal)>;
static KEPT: std::sync::LazyLock<std::sync::Mutex<Kept>> =
    std::sync::LazyLock::new(Default::default);

/// `authenticate`, answered from the tokens checked in the last `KEPT_FOR`
/// where it can be. Unknown secrets are never kept.
pub async fn authenticate_kept(
    store: &Store,
    secret: &str,
) -> Result<Option<Principal>, IdentityError> {
    let key = digest(secret);
    if let Some((at, p)) = KEPT.lock().ok().and_then(|k| k.get(&key).cloned()) {
        if at.elapsed() < KEPT_FOR {
            return Ok(Some(p));
        }
    }
    let found = authenticate(store, secret).await?;
    if let (Some(p), Ok(mut kept)) = (&found, KEPT.lock()) {
        if kept.len() >= KEPT_MAX {
            kept.clear();
        }
        kept.insert(key, (std::time::Instant::now(), p.clone()));
    }
    Ok(found)
}

/// A token was revoked: no kept token is believed any more.
fn forget_kept() {
    if let Ok(mut kept) = KEPT.lock() {
        kept.clear();
    }
}

/// The token's principal, or `None` for an unknown or revoked secret.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<Principal>, IdentityError> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "{COLUMNS} WHERE secret_hash = $1 AND revoked_at_ms IS NULL"
    ))
    .bind(digest(secret))
    .fetch_optional(store.pool())
    .await?;
    let Some(token) = row.as_ref().map(decode).transpose()? else {
        return Ok(None);
    };
    let now = now_ms();
    if token
        .last_used_at_ms
        .is_none_or(|t| now - t >= LAST_USED_GRANULARITY_MS)
    {
        sqlx::query("UPDATE api_tokens SET last_used_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(&token.id)
            .execute(store.pool())
            .await?;
    }
    Ok(Some(Principal::Token {
        id: token.id,
        name: token.name,
        scopes: token.scopes,
        environment: token.environment,
    }))
}

type HmacSha256 = hmac::Hmac<Sha256>;

fn stream_mac(secret_hash: &str, token_id: &str, environment: &str, until_ms: i64) -> String {
    use hmac::Mac;
    let mut mac = HmacSha256::new_from_slice(secret_hash.as_bytes()).expect("any key length");
    mac.update(format!("{token_id}|{environment}|{until_ms}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// A ticket that lets a browser's event stream (which cannot send a token
/// header) hear of flag changes in `environment` until `until_ms`, for the
/// token whose `secret` the request carried: `ID.UNTIL.MAC`, signed with the
/// token's stored digest, so any instance can check it and revoking the
/// token voids it. It tells nothing of the secret.
pub fn stream_ticket(secret: &str, token_id: &str, environment: &str, until_ms: i64) -> String {
    let mac = stream_mac(&digest(secret), token_id, environment, until_ms);
    format!("{token_id}.{until_ms}.{mac}")
}

/// The token a stream ticket for `environment` was given to, if the ticket
/// is genuine, unexpired at `now_ms`, and its token is not revoked.
pub async fn stream_ticket_holder(
    store: &Store,
    ticket: &str,
    environment: &str,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let mut parts = ticket.splitn(3, '.');
    let (Some(id), Some(until), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let Ok(until_ms) = until.parse::<i64>() else {
        return Ok(None);
    };
    if until_ms < now_ms {
        return Ok(None);
    }
    let hash: Option<String> = sqlx::query_scalar(
        "SELECT secret_hash FROM api_tokens WHERE id = $1 AND revoked_at_ms IS NULL",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?;
    // Compared in constant time: how much matched tells an attacker nothing.
    let genuine = hash.is_some_and(|h| {
        let expected = stream_mac(&h, id, environment, until_ms);
        expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    });
    Ok(genuine.then(|| id.to_string()))
}
