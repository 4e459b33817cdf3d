//! Identity shapes: the signed-in person, users and API tokens as the admin
//! pages show them.
use serde::{Deserialize, Serialize};

use crate::access::{Role, Scope};

/// Who is signed in (the layout shows it; pages use it to hide what would be
/// refused anyway).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub roles: Vec<Role>,
    /// Gates and change requests waiting for their decision (the header's
    /// "Waiting for you").
    #[serde(default)]
    pub waiting: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub roles: Vec<Role>,
    pub created_at_ms: i64,
    pub disabled_at_ms: Option<i64>,
}

/// One of the signed-in person's passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeySummary {
    pub credential_id: String,
    pub name: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The one environment a flags token evaluates in.
    pub environment: Option<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: TokenSummary,
    pub secret: String,
}
