//! Commands the console gives itself: a guardrail's action (pause, standard
//! or emergency rollback) taken as the system, with the guardrail's
//! evidence audited in the same transaction as the rollback it causes.
use app::dto::plans::RollbackKind;
use serde_json::Value;

use super::rollback::rollback_command;
use crate::plans::acting::Acting;
use crate::plans::error::PlanError;
use crate::plans::facts::Facts;
use crate::plans::service::PlanService;

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
        let acting = Acting::system();
        let mut tx = self.store.begin_write().await?;
        let now = self.clock.now_ms();
        let l = self.load_locked(&mut tx, plan_id).await?;
        let still = l
            .current()
            .is_some_and(|p| p.name == phase && p.environment == environment);
        if !still {
            return Ok(None);
        }
        // A rollback judges no evidence: none is read inside the lock (and
        // none would count as met, should a later command look).
        let facts = Facts::default();
        let cx = self.cx(&l, &facts, (None, &acting), now);
        let confirm = l.plan.name.clone();
        let effect = rollback_command(&mut tx, cx, (kind, confirm, reason, String::new())).await?;
        let mut events = vec![("guardrail.action", evidence)];
        events.extend(effect.events);
        self.conclude(tx, cx, events, effect.dismiss_reason).await?;
        Ok(Some(effect.message))
    }
}
