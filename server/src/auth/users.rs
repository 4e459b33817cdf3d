//! People: their records and roles, and every change to them — each change
//! commits together with its audit event.
use app::access::Role;
use app::dto::identity::UserSummary;
use serde_json::json;

use super::error::IdentityError;
use super::password;
use super::user_rows::enabled_admins;
pub use super::user_rows::{
    active_admin_exists, by_id, by_username, list, normalize_username, UserRecord,
};
use crate::audit::{self, Actor, ClientInfo};
use crate::db::Store;
use crate::system::now_ms;

/// Creates a user. The audit event is appended first and the insert may then
/// fail (a taken name): the transaction takes both back together.
pub async fn create(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    username: &str,
    password: &str,
    roles: &[Role],
) -> Result<UserSummary, IdentityError> {
    let username = normalize_username(username)?;
    password::check_policy(password).map_err(IdentityError::Invalid)?;
    if roles.is_empty() {
        return Err(IdentityError::Invalid(
            "roles: give at least one of viewer, operator, approver, admin".to_string(),
        ));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    let hash = password::hash(password);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    audit::append(
        &mut tx,
        now,
        actor,
        client,
        "user.create",
        &format!("user:{username}"),
        json!({ "username": username, "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>() }),
    )
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, password_hash, created_at_ms, sessions_valid_after_ms) \
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(&id)
    .bind(&username)
    .bind(&hash)
    .bind(now)
    .execute(&mut *tx)
    .await;
    if let Err(e) = inserted {
        return Err(crate::db::on_constraint(e, || {
            IdentityError::Conflict(
                app::error::Conflict::AlreadyExists,
                format!("username: {username:?} is taken; choose another name"),
            )
        }));
    }
    for role in &roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(&id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(UserSummary {
        id,
        username,
        roles,
        created_at_ms: now,
        disabled_at_ms: None,
    })
}

/// Sets a new password and ends every session the user has.
pub async fn set_password(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    username: &str,
    password: &str,
) -> Result<UserSummary, IdentityError> {
    password::check_policy(password).map_err(IdentityError::Invalid)?;
    let hash = password::hash(password);
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let user = by_username(&mut tx, username)
        .await?
        .ok_or_else(|| IdentityError::NotFound(format!("user {:?}", username.trim())))?;
    sqlx::query("UPDATE users SET password_hash = $1, sessions_valid_after_ms = $2 WHERE id = $3")
        .bind(&hash)
        .bind(now)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    let subject = format!("user:{}", user.username);
    let details = json!({ "sessions_ended": true });
    audit::append(
        &mut tx,
        now,
        actor,
        client,
        "user.password_change",
        &subject,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(user.summary())
}

/// Disables (ending every session at once) or re-enables a user.
pub async fn set_disabled(
    store: &Store,
    actor: &Actor,
    client: &ClientInfo,
    username: &str,
    disabled: bool,
) -> Result<UserSummary, IdentityError> {
    let now = now_ms();
    let mut tx = store.begin_write().await?;
    let mut user = by_username(&mut tx, username)
        .await?
        .ok_or_else(|| IdentityError::NotFound(format!("user {:?}", username.trim())))?;
    if disabled == user.disabled_at_ms.is_some() {
        return Err(IdentityError::Invalid(format!(
            "user {:?} is already {}",
            user.username,
            if disabled { "disabled" } else { "enabled" }
        )));
    }
    if disabled && matches!(actor, Actor::User { id, .. } if *id == user.id) {
        return Err(IdentityError::Invalid(
            "you cannot disable yourself; ask another admin".to_string(),
        ));
    }
    if disabled && user.roles.contains(&Role::Admin) {
        // Two admins disabling each other at once must not both pass the
        // check below: on PostgreSQL, lock the admins' rows first (SQLite's
        // BEGIN IMMEDIATE already serializes writers).
        if store.backend() == app::dto::StoreBackend::Postgres {
            sqlx::query(
                "SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id \
                 WHERE r.role = 'admin' FOR UPDATE OF u",
            )
            .fetch_all(&mut *tx)
            .await?;
        }
        let other_admins = enabled_admins(&mut tx, &user.id).await?;
        if other_admins == 0 {
            return Err(IdentityError::Invalid(format!(
                "{:?} is the last enabled admin; make someone else admin first",
                user.username
            )));
        }
    }
    user.disabled_at_ms = disabled.then_some(now);
    sqlx::query("UPDATE users SET disabled_at_ms = $1, sessions_valid_after_ms = $2 WHERE id = $3")
        .bind(user.disabled_at_ms)
        .bind(now)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    // Tokens the user created stop with them: machines keep no access that
    // the person who granted it has lost.
    let tokens_revoked = if disabled {
        super::tokens::revoke_created_by(&mut tx, &user.id, now).await?
    } else {
        0
    };
    audit::append(
        &mut tx,
        now,
        actor,
        client,
        if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        &format!("user:{}", user.username),
        json!({ "sessions_ended": disabled, "tokens_revoked": tokens_revoked }),
    )
    .await?;
    tx.commit().await?;
    Ok(user.summary())
}
