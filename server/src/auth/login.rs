//! A sign-in attempt: throttling, the password check, and the audit event of
//! the outcome, success or failure, with the throttle update in one transaction.
use serde_json::json;

use super::error::IdentityError;
use super::password;
use super::throttle::{self, ACCOUNT_CAP_SECS, ADDRESS_CAP_SECS};
use super::users::{self, UserRecord};
use crate::audit::{self, Actor, ClientInfo};
use crate::db::Store;
use crate::system::now_ms;

#[derive(Debug)]
pub enum Outcome {
    Success(UserRecord),
    /// Unknown user, wrong password or disabled account: one answer for all.
    Refused,
    /// Too many failures; try again after this many seconds.
    Throttled(i64),
}

/// What a failed attempt is recorded as; only auditors see the reason.
fn failed_actor(typed: &str) -> Actor {
    Actor::Anonymous {
        name: typed.trim().chars().take(64).collect(),
    }
}

pub async fn attempt(
    store: &Store,
    username: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<Outcome, IdentityError> {
    let account = throttle::account_key(username);
    let address = throttle::address_key(&client.addr);
    let keys = [account.as_str(), address.as_str()];
    let typed: String = username.trim().chars().take(64).collect();
    let subject = format!("user:{}", typed.to_lowercase());

    let mut conn = store.pool().acquire().await?;
    let wait = throttle::retry_after(&mut conn, &keys, now_ms()).await?;
    if wait > 0 {
        drop(conn);
        let mut tx = store.begin_write().await?;
        audit::append(
            &mut tx,
            now_ms(),
            &failed_actor(username),
            client,
            "auth.login_failed",
            &subject,
            json!({ "reason": "throttled", "retry_after_secs": wait }),
        )
        .await?;
        tx.commit().await?;
        return Ok(Outcome::Throttled(wait));
    }
    let user = users::by_username(&mut conn, username).await?;
    drop(conn);

    // The hash costs ~50 ms of CPU: keep it off the async workers. Unknown
    // users pay the same cost, so timing does not reveal which names exist.
    let (user, verified) = {
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            let ok = match &user {
                Some(u) => password::verify(&password, &u.password_hash),
                None => {
                    password::verify_dummy(&password);
                    false
                }
            };
            (user, ok)
        })
        .await
        .map_err(|e| IdentityError::Invalid(format!("sign-in could not be checked: {e}")))?
    };

    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let outcome = match user {
        Some(user) if verified && user.disabled_at_ms.is_none() => {
            throttle::clear(&mut tx, &keys).await?;
            audit::append(
                &mut tx,
                now,
                &user.actor(),
                client,
                "auth.login",
                &format!("user:{}", user.username),
                json!({ "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>() }),
            )
            .await?;
            Outcome::Success(user)
        }
        user => {
            let reason = match (&user, verified) {
                (None, _) => "unknown user",
                (Some(_), true) => "account disabled",
                (Some(_), false) => "wrong password",
            };
            throttle::record_failure(&mut tx, &account, ACCOUNT_CAP_SECS, now).await?;
            throttle::record_failure(&mut tx, &address, ADDRESS_CAP_SECS, now).await?;
            audit::append(
                &mut tx,
                now,
                &failed_actor(username),
                client,
                "auth.login_failed",
                &subject,
                json!({ "reason": reason }),
            )
            .await?;
            Outcome::Refused
        }
    };
    tx.commit().await?;
    Ok(outcome)
}
