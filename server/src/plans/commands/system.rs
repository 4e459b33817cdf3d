//! Commands the console gives itself: a guardrail's action (pause, standard
//! or emergency rollback) taken as the system, with the guardrail's
//! evidence audited in the same transaction as the rollback it causes —
//! or, after an irreversible phase, withheld with why.
use app::dto::plans::RollbackKind;
use serde_json::Value;

use super::rollback::{rollback_command, unsafe_now, Asked};
use crate::plans::acting::Acting;
use crate::plans::error::PlanError;
use crate::plans::rules::exposure::rollback_changes;
use crate::plans::rules::facts::Facts;
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
        // After an irreversible phase the console does not turn the flag
        // down on its own: the breach is recorded, people decide.
        let changes = rollback_changes(&l, kind, "", cx.environments).ok();
        if let Some(why) = changes.and_then(|c| unsafe_now(&l, kind, &c)) {
            let mut evidence = evidence;
            evidence["withheld"] = Value::String(why.clone());
            let events = vec![("guardrail.action", evidence)];
            self.conclude(tx, cx, events, super::changed_reason())
                .await?;
            return Ok(Some(format!(
                "guardrail action {} withheld: {why}; decide on the plan's page",
                kind.as_str()
            )));
        }
        let asked = Asked {
            kind,
            confirm: l.plan.name.clone(),
            reason,
            entity: String::new(),
            accept_irreversible: false,
        };
        let effect = rollback_command(&mut tx, cx, asked).await?;
        let mut events = vec![("guardrail.action", evidence)];
        events.extend(effect.events);
        self.conclude(tx, cx, events, effect.dismiss_reason).await?;
        Ok(Some(effect.message))
    }
}
