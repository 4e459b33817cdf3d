//! Commands the console gives itself: a guardrail's action (pause, standard
//! or emergency rollback) taken as the system, with the guardrail's
//! evidence audited in the same transaction as the rollback it causes.
use app::dto::plans::RollbackKind;
use serde_json::Value;

use super::rollback::rollback_command;
use crate::audit::{Actor, ClientInfo};
use crate::plans::error::PlanError;
use crate::plans::service::{Acting, PlanService};

impl PlanService {
    /// Takes `kind` on the plan for a guardrail, if the phase it judged
    /// (`phase`, in `environment`) is still the one under way; `None` when
    /// it is not (a person acted first). Audited as the system: the
    /// guardrail's `evidence` (`guardrail.action`) and the rollback's own
    /// event, in one transaction.
    pub async fn act_for_guardrail(
        &self,
        plan_id: &str,
        (phase, environment): (&str, &str),
        kind: RollbackKind,
        reason: String,
        evidence: Value,
    ) -> Result<Option<String>, PlanError> {
        let acting = Acting {
            actor: Actor::System,
            client: ClientInfo::default(),
        };
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let l = self.load_locked(&mut tx, plan_id).await?;
        let still = l
            .current()
            .is_some_and(|p| p.name == phase && p.environment == environment);
        if !still {
            return Ok(None);
        }
        let confirm = l.plan.name.clone();
        let effect = rollback_command(
            &mut tx,
            &l,
            now,
            &self.environments,
            kind,
            confirm,
            reason,
            String::new(),
        )
        .await?;
        let events = std::iter::once(("guardrail.action", evidence)).chain(effect.events);
        for (action, details) in events {
            acting.audit(&mut tx, now, action, plan_id, details).await?;
        }
        self.finish(
            tx,
            plan_id,
            now,
            &acting,
            effect.dismiss_reason,
            &l.plan.source_toml,
        )
        .await?;
        Ok(Some(effect.message))
    }
}
