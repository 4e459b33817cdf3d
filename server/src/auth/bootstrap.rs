//! First start: with no admin who can sign in, create `admin` with a random
//! password, printed once on stdout (never logged) for the operator to change.
use app::access::Role;

use super::error::IdentityError;
use super::{password, users};
use crate::audit::{Actor, ClientInfo};
use crate::db::Store;

pub const ADMIN: &str = "admin";

/// Returns the generated password when it created the admin.
pub async fn ensure_admin(store: &Store) -> Result<Option<String>, IdentityError> {
    if users::active_admin_exists(store).await? {
        return Ok(None);
    }
    let mut conn = store.pool().acquire().await?;
    let taken = users::by_username(&mut conn, ADMIN).await?.is_some();
    drop(conn);
    if taken {
        tracing::warn!(
            "no enabled admin exists and the name \"admin\" is taken; create one with `rollout-console user add NAME --role admin`"
        );
        return Ok(None);
    }
    let secret = password::generate();
    match users::create(
        store,
        &Actor::System,
        &ClientInfo::default(),
        ADMIN,
        &secret,
        &[Role::Admin],
    )
    .await
    {
        Ok(_) => Ok(Some(secret)),
        // Another instance on the same database got there first.
        Err(IdentityError::Conflict(..)) => Ok(None),
        Err(e) => Err(e),
    }
}
