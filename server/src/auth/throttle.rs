//! Login throttling, per account and per client address: after
//! [`FREE_FAILURES`] failures within [`WINDOW_MS`] each further failure doubles
//! a waiting time. The account's wait is capped low ([`ACCOUNT_CAP_SECS`]), and
//! does not apply at all from an address the account has signed in from in the
//! last [`KNOWN_ADDRESS_MS`], so an attacker guessing someone's password cannot
//! lock them out; the address's wait is capped high, since that is the
//! attacker's own — except for an account that has signed in from it before
//! (colleagues behind one NAT or proxy), which it slows by at most
//! [`KNOWN_DELAY_SECS`] and never refuses.
use sqlx::AnyConnection;

use crate::db::StoreError;

pub const FREE_FAILURES: i64 = 5;
/// Failures older than this are forgotten.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const ACCOUNT_CAP_SECS: i64 = 60;
pub const ADDRESS_CAP_SECS: i64 = 15 * 60;
/// How long a successful sign-in makes an address "known" for its account.
pub const KNOWN_ADDRESS_MS: i64 = 30 * 24 * 3600 * 1000;
/// The longest a blocked address holds back a sign-in of an account known
/// there.
pub const KNOWN_DELAY_SECS: i64 = 3;

/// Seconds to wait after the `failures`-th consecutive failure: 0 up to the
/// free ones, then 2, 4, 8, … up to `cap`.
pub fn wait_secs(failures: i64, cap: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let exp = (failures - FREE_FAILURES + 1).min(30) as u32;
    (1i64 << exp).min(cap)
}

pub fn account_key(username: &str) -> String {
    let name: String = username.trim().chars().take(64).collect();
    format!("user:{}", name.to_lowercase())
}

pub fn address_key(addr: &str) -> String {
    format!("addr:{addr}")
}

/// Seconds until every key allows a try; 0 when they do now.
pub async fn retry_after(
    conn: &mut AnyConnection,
    keys: &[&str],
    now_ms: i64,
) -> Result<i64, StoreError> {
    let mut wait = 0;
    for key in keys {
        let until: Option<i64> =
            sqlx::query_scalar("SELECT blocked_until_ms FROM login_throttle WHERE key = $1")
                .bind(*key)
                .fetch_optional(&mut *conn)
                .await?;
        wait = wait.max(until.map_or(0, |u| ((u - now_ms).max(0) + 999) / 1000));
    }
    Ok(wait)
}

/// Has `subject` (`user:NAME`) signed in from `addr` recently? Read from the
/// audit trail, which already records every sign-in with its address.
pub async fn known_address(
    conn: &mut AnyConnection,
    subject: &str,
    addr: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    if addr.is_empty() {
        return Ok(false);
    }
    crate::audit::query::signed_in_from(conn, subject, addr, now_ms - KNOWN_ADDRESS_MS).await
}

/// What charging an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// Counted as a failure; the key is now blocked for this many seconds
    /// (0: not blocked).
    Counted(i64),
    /// The key is blocked: nothing was counted, the attempt must not run.
    Blocked,
}

/// Counts an attempt on `key` unless the key is blocked, in one statement
/// (the upsert's row lock orders attempts that run at once), and blocks the
/// key as the new count requires. A failure count older than the window
/// starts again at 1.
pub async fn charge(
    conn: &mut AnyConnection,
    key: &str,
    cap_secs: i64,
    now_ms: i64,
) -> Result<Charge, StoreError> {
    let failures: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_throttle (key, failures, last_failure_ms, blocked_until_ms) \
         VALUES ($1, 1, $2, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.last_failure_ms < $3 THEN 1 \
                           ELSE login_throttle.failures + 1 END, \
           last_failure_ms = $2 \
         WHERE login_throttle.blocked_until_ms <= $2 \
         RETURNING failures",
    )
    .bind(key)
    .bind(now_ms)
    .bind(now_ms - WINDOW_MS)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(failures) = failures else {
        return Ok(Charge::Blocked);
    };
    let wait = wait_secs(failures, cap_secs);
    sqlx::query("UPDATE login_throttle SET blocked_until_ms = $1 WHERE key = $2")
        .bind(now_ms + wait * 1000)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(Charge::Counted(wait))
}

/// Forgets the failures of `keys` (after a successful login).
pub async fn clear(conn: &mut AnyConnection, keys: &[&str; 2]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1 OR key = $2")
        .bind(keys[0])
        .bind(keys[1])
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops entries whose failures are forgotten and whose wait is over.
pub async fn purge(conn: &mut AnyConnection, now_ms: i64) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM login_throttle WHERE last_failure_ms < $1 AND blocked_until_ms < $2",
    )
    .bind(now_ms - WINDOW_MS)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_up_to_the_cap() {
        let waits: Vec<i64> = (1..=12).map(|f| wait_secs(f, ACCOUNT_CAP_SECS)).collect();
        assert_eq!(waits, [0, 0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(wait_secs(14, ADDRESS_CAP_SECS), 900);
        assert_eq!(wait_secs(1_000_000, ADDRESS_CAP_SECS), 900, "no overflow");
    }

    #[test]
    fn keys_fold_case_of_usernames() {
        assert_eq!(account_key(" Alice "), "user:alice");
        assert_eq!(
            account_key(&"x".repeat(10_000)).len(),
            5 + 64,
            "keys are bounded"
        );
        assert_eq!(address_key("10.0.0.1"), "addr:10.0.0.1");
    }
}
