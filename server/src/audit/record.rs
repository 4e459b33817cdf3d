//! Appending to the audit trail, inside the caller's transaction, so an event
//! exists exactly when the change it records exists.
use serde_json::Value;
use sqlx::AnyConnection;

use super::chain::{canonical, EventRef};
use crate::db::StoreError;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User {
        id: String,
        name: String,
    },
    Token {
        id: String,
        name: String,
    },
    /// The console itself (start-up, background work).
    System,
    /// The command line, run by this operating-system user.
    Cli {
        os_user: String,
    },
    /// Someone not signed in, e.g. a failed login; `name` is what they typed.
    Anonymous {
        name: String,
    },
}

impl Actor {
    /// The command line, named after the operating-system account running
    /// it: its real uid (not `$USER`, which anyone can set) looked up in
    /// /etc/passwd, or `uid:N` when it has no entry. Never "unknown".
    pub fn cli() -> Actor {
        Actor::Cli {
            os_user: os_account(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::Token { .. } => "token",
            Actor::System => "system",
            Actor::Cli { .. } => "cli",
            Actor::Anonymous { .. } => "anonymous",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Actor::User { id, .. } | Actor::Token { id, .. } => id,
            Actor::System | Actor::Cli { .. } | Actor::Anonymous { .. } => "",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Actor::User { name, .. } | Actor::Token { name, .. } | Actor::Anonymous { name } => {
                name
            }
            Actor::Cli { os_user } => os_user,
            Actor::System => "system",
        }
    }
}

fn os_account() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return format!("pid:{}", std::process::id());
    };
    let named = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let id = fields.nth(1)?;
                (id == uid.to_string() && !name.is_empty()).then(|| name.to_string())
            })
        });
    named.unwrap_or_else(|| format!("uid:{uid}"))
}

/// Where a request came from; empty for the CLI and the system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub addr: String,
    pub user_agent: String,
}

impl ClientInfo {
    /// The CLI: no address, the program as user agent.
    pub fn cli() -> Self {
        ClientInfo {
            addr: String::new(),
            user_agent: format!("rollout-console-cli/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The longest user agent kept; longer ones are cut (they are free text).
const MAX_USER_AGENT: usize = 512;

/// Appends one event and returns its seq. Locks the chain head until the
/// caller's transaction ends, so writers are serialized.
pub async fn append(
    conn: &mut AnyConnection,
    now_ms: i64,
    actor: &Actor,
    client: &ClientInfo,
    action: &str,
    subject: &str,
    details: Value,
) -> Result<i64, StoreError> {
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await?;
    let details = canonical(&details);
    let user_agent = truncate(&client.user_agent, MAX_USER_AGENT);
    let event = EventRef {
        seq,
        at_ms: now_ms,
        actor_kind: actor.kind(),
        actor_id: actor.id(),
        actor_name: actor.name(),
        action,
        subject,
        details: &details,
        client_addr: &client.addr,
        user_agent: &user_agent,
    };
    let hash = event.hash(&prev_hash);
    sqlx::query(
        "INSERT INTO audit_events (seq, at_ms, actor_kind, actor_id, actor_name, action, subject, \
         details, client_addr, user_agent, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(event.seq)
    .bind(event.at_ms)
    .bind(event.actor_kind)
    .bind(event.actor_id)
    .bind(event.actor_name)
    .bind(event.action)
    .bind(event.subject)
    .bind(event.details)
    .bind(event.client_addr)
    .bind(event.user_agent)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
