//! Reading people: the user record and the queries that find users (by
//! name, by id, all of them, the enabled admins). Changing them is
//! `users`; tokens read owners from here.
use app::access::Role;
use app::dto::identity::UserSummary;
use sqlx::{AnyConnection, Row};

use super::error::IdentityError;
use crate::audit::Actor;
use crate::db::{Store, StoreError};

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

/// Everyone who can sign in, with their roles (who a gate asks).
pub async fn enabled(conn: &mut AnyConnection) -> Result<Vec<UserRecord>, StoreError> {
    fetch(conn, " WHERE u.disabled_at_ms IS NULL", None)
        .await
        .map_err(|e| match e {
            IdentityError::Store(s) => s,
            other => StoreError::Query(sqlx::Error::Protocol(other.to_string())),
        })
}

pub async fn list(store: &Store) -> Result<Vec<UserSummary>, IdentityError> {
    let mut conn = store.pool().acquire().await?;
    let users = fetch(&mut conn, "", None).await?;
    Ok(users.iter().map(UserRecord::summary).collect())
}

/// Enabled admins other than the user with id `except` ("" for none).
pub(super) async fn enabled_admins(
    conn: &mut AnyConnection,
    except: &str,
) -> Result<i64, IdentityError> {
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
