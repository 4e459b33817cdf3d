//! People: their records and roles, and every change to them — each change
//! commits together with its audit event.
use app::access::Role;
use app::dto::identity::UserSummary;
use serde_json::json;
use sqlx::{AnyConnection, Row};

use super::error::{is_unique_violation, IdentityError};
use super::password;
use crate::audit::{self, Actor, ClientInfo};
use crate::db::Store;
use crate::system::now_ms;

/// A user as stored, with the password hash (never leaves the server).
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    /// Argon2id, as a PHC string.
    pub password_hash: String,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
    /// Sessions begun before this no longer count (a password change, a
    /// disable).
    pub sessions_valid_after_ms: i64,
    pub roles: Vec<Role>,
}

impl UserRecord {
    /// Who this user is to the ports (what a signed-in request carries).
    pub fn principal(self) -> app::access::Principal {
        app::access::Principal::User {
            id: self.id,
            username: self.username,
            roles: self.roles,
        }
    }

    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id.clone(),
            username: self.username.clone(),
            roles: self.roles.clone(),
            created_at_ms: self.created_at_ms,
            disabled_at_ms: self.disabled_at_ms,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.id.clone(),
            name: self.username.clone(),
        }
    }
}

/// Lower-case letters, digits, `.`, `_`, `-`; 1 to 64 characters.
pub fn normalize_username(raw: &str) -> Result<String, IdentityError> {
    let name = raw.trim().to_lowercase();
    if name.is_empty() || name.len() > 64 {
        return Err(IdentityError::Invalid(
            "username: use 1 to 64 characters".to_string(),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(IdentityError::Invalid(format!(
            "username: {c:?} is not allowed; use letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(name)
}

/// Users with their roles in one query: one row per (user, role), a user
/// without roles on one row with a NULL role. `filter` is a fixed fragment.
async fn fetch(
    conn: &mut AnyConnection,
    filter: &str,
    arg: Option<&str>,
) -> Result<Vec<UserRecord>, IdentityError> {
    let sql = format!(
        "SELECT u.id, u.username, u.password_hash, u.created_at_ms, u.disabled_at_ms, \
         u.sessions_valid_after_ms, r.role \
         FROM users u LEFT JOIN user_roles r ON r.user_id = u.id{filter} ORDER BY u.username"
    );
    let mut query = sqlx::query(&sql);
    if let Some(arg) = arg {
        query = query.bind(arg);
    }
    let mut users: Vec<UserRecord> = Vec::new();
    for row in query.fetch_all(&mut *conn).await? {
        let id: String = row.try_get(0)?;
        if users.last().is_none_or(|u| u.id != id) {
            users.push(UserRecord {
                id,
                username: row.try_get(1)?,
                password_hash: row.try_get(2)?,
                created_at_ms: row.try_get(3)?,
                disabled_at_ms: row.try_get(4)?,
                sessions_valid_after_ms: row.try_get(5)?,
                roles: Vec::new(),
            });
        }
        let role: Option<String> = row.try_get(6)?;
        if let (Some(user), Some(role)) =
            (users.last_mut(), role.and_then(|r| Role::parse(&r).ok()))
        {
            user.roles.push(role);
        }
    }
    for user in &mut users {
        user.roles.sort();
    }
    Ok(users)
}

pub async fn by_username(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<UserRecord>, IdentityError> {
    let name = username.trim().to_lowercase();
    Ok(fetch(conn, " WHERE u.username = $1", Some(&name))
        .await?
        .pop())
}

pub async fn by_id(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<UserRecord>, IdentityError> {
    Ok(fetch(conn, " WHERE u.id = $1", Some(id)).await?.pop())
}

pub async fn list(store: &Store) -> Result<Vec<UserSummary>, IdentityError> {
    let mut conn = store.pool().acquire().await?;
    let users = fetch(&mut conn, "", None).await?;
    Ok(users.iter().map(UserRecord::summary).collect())
}

/// Enabled admins other than the user with id `except` ("" for none).
async fn enabled_admins(conn: &mut AnyConnection, except: &str) -> Result<i64, IdentityError> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u JOIN user_roles r ON r.user_id = u.id \
         WHERE r.role = 'admin' AND u.disabled_at_ms IS NULL AND u.id <> $1",
    )
    .bind(except)
    .fetch_one(&mut *conn)
    .await?)
}

/// Is there an admin who can sign in?
pub async fn active_admin_exists(store: &Store) -> Result<bool, IdentityError> {
    let mut conn = store.pool().acquire().await?;
    Ok(enabled_admins(&mut conn, "").await? > 0)
}

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
        return Err(if is_unique_violation(&e) {
            IdentityError::Conflict(format!(
                "username: {username:?} is taken; choose another name"
            ))
        } else {
            e.into()
        });
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
