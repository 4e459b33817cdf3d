//! Who is acting and from where, as the audit trail records a plan's
//! changes: a person or token, the console itself, or the CLI.
use app::access::Principal;
use app::service::Caller;
use sqlx::AnyConnection;

use crate::audit::{self, Actor, ClientInfo};
use crate::auth::{actor_of, client_of};

/// Who is acting and from where, as the audit trail records it.
pub struct Acting {
    pub actor: Actor,
    pub client: ClientInfo,
}

impl Acting {
    pub fn of(principal: &Principal, caller: &Caller) -> Acting {
        Acting {
            actor: actor_of(principal),
            client: client_of(caller),
        }
    }

    /// The console itself (a guardrail acting, say): no client.
    pub fn system() -> Acting {
        Acting {
            actor: Actor::System,
            client: ClientInfo::default(),
        }
    }

    pub fn cli() -> Acting {
        Acting {
            actor: Actor::cli(),
            client: ClientInfo::cli(),
        }
    }

    /// Appends `action` on plan `plan_id` to the audit trail as this actor,
    /// in the transaction `conn` is in.
    pub async fn audit(
        &self,
        conn: &mut AnyConnection,
        now: i64,
        action: &str,
        plan_id: &str,
        details: serde_json::Value,
    ) -> Result<(), crate::db::StoreError> {
        audit::append(
            conn,
            now,
            &self.actor,
            &self.client,
            action,
            &subject(plan_id),
            details,
        )
        .await
        .map(|_| ())
    }
}

/// The audit subject of a plan.
pub(super) fn subject(plan_id: &str) -> String {
    format!("plan:{plan_id}")
}
