//! A sign-in attempt: throttling, the password check, and the audit event of
//! the outcome, success or failure, with the throttle update in one transaction.
use serde_json::json;
use tokio::sync::Semaphore;

use super::error::IdentityError;
use super::password;
use super::throttle::{self, ACCOUNT_CAP_SECS, ADDRESS_CAP_SECS};
use super::users::{self, UserRecord};
use crate::audit::{self, Actor, ClientInfo};
use crate::db::Store;
use crate::system::now_ms;

/// Password checks running at once. Each takes 19 MiB and ~50 ms of a core;
/// a burst of sign-ins queues here instead of exhausting memory.
static CHECKS: Semaphore = Semaphore::const_new(4);

#[derive(Debug)]
pub enum Outcome {
    Success(UserRecord),
    /// Unknown user, wrong password or disabled account: one answer for all.
    Refused,
    /// Too many failures; try again after this many seconds.
    Throttled(i64),
}

/// What a failed attempt is recorded as. The typed name is kept only when it
/// could be a username: anything else (often a password typed in the wrong
/// field) must not land in a trail every role can read.
fn typed_name(typed: &str) -> String {
    users::normalize_username(typed).unwrap_or_else(|_| "(not a valid username)".to_string())
}

pub async fn attempt(
    store: &Store,
    username: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<Outcome, IdentityError> {
    let typed = typed_name(username);
    let account = throttle::account_key(&typed);
    let address = throttle::address_key(&client.addr);
    let subject = format!("user:{typed}");

    let permit = || async {
        CHECKS
            .acquire()
            .await
            .map_err(|e| IdentityError::Invalid(format!("sign-in is shutting down: {e}")))
    };
    let mut _permit = permit().await?;
    // The attempt is charged as a failure before the password is checked,
    // atomically with the check that the keys are not blocked, so attempts
    // running at once each see the ones before them: never more than
    // FREE_FAILURES real checks in a burst. A success clears the charge.
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    // An address this account has signed in from before is not held back by
    // the account's failures (only by its own): someone guessing the password
    // elsewhere cannot lock the owner out.
    // Nor is it refused by its address's failures (a burst from behind the
    // same NAT or proxy): those only slow it down, by up to KNOWN_DELAY_SECS.
    let known = throttle::known_address(&mut tx, &subject, &client.addr, now).await?;
    let mut blocked = Vec::new();
    let mut delay = 0;
    for (key, cap, gates) in [
        (&address, ADDRESS_CAP_SECS, !known),
        (&account, ACCOUNT_CAP_SECS, !known),
    ] {
        match throttle::charge(&mut tx, key, cap, now).await? {
            throttle::Charge::Counted(0) => {}
            throttle::Charge::Counted(wait) => {
                blocked.push(json!({ "key": key, "wait_secs": wait }))
            }
            throttle::Charge::Blocked if gates => {
                let wait = throttle::retry_after(&mut tx, &[key.as_str()], now).await?;
                drop(tx);
                return Ok(Outcome::Throttled(wait.max(1)));
            }
            throttle::Charge::Blocked if key == &address => {
                delay = throttle::retry_after(&mut tx, &[key.as_str()], now)
                    .await?
                    .min(throttle::KNOWN_DELAY_SECS);
            }
            throttle::Charge::Blocked => {}
        }
    }
    let user = users::by_username(&mut tx, &typed).await?;
    tx.commit().await?;
    if delay > 0 {
        // Slowed, not refused; others' checks go on meanwhile.
        drop(_permit);
        tokio::time::sleep(std::time::Duration::from_secs(delay as u64)).await;
        _permit = permit().await?;
    }

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
            throttle::clear(&mut tx, &[account.as_str(), address.as_str()]).await?;
            audit::append(
                &mut tx,
                now,
                &user.actor(),
                client,
                "auth.login",
                &subject,
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
            let actor = Actor::Anonymous {
                name: typed.clone(),
            };
            audit::append(
                &mut tx,
                now,
                &actor,
                client,
                "auth.login_failed",
                &subject,
                json!({ "reason": reason }),
            )
            .await?;
            // Refusals while blocked are not recorded one by one (that would
            // let anyone grow the trail without limit); the block itself is.
            if !blocked.is_empty() {
                audit::append(
                    &mut tx,
                    now,
                    &Actor::System,
                    client,
                    "auth.throttle",
                    &subject,
                    json!({ "blocked": blocked }),
                )
                .await?;
            }
            Outcome::Refused
        }
    };
    tx.commit().await?;
    Ok(outcome)
}
