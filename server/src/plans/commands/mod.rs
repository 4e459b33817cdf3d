//! The commands of the plan page and the API: start a phase, tick the
//! checklist, request and decide approval, override a gate, complete, roll
//! back. Each runs in one transaction with its audit event(s); `run` checks
//! who may, loads the plan and dispatches to the family that owns the command.
mod allow;
mod change;
mod checklist;
mod gate;
mod phase;
mod rollback;
mod system;

use app::access::{Action, Principal};
use app::dto::plans::{CommandOutcome, PlanCommand, RollbackKind};
use app::error::AppError;
use app::service::Caller;
use serde_json::Value;

use crate::plans::error::PlanError;
use crate::plans::facts::Facts;
use crate::plans::service::{Acting, PlanService};
use crate::plans::store::{self, Loaded};

const MAX_TEXT: usize = 2_000;

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

fn text(field: &str, raw: &str, required: bool) -> Result<String, PlanError> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(invalid(format!(
            "{field}: say why; it goes into the audit trail"
        )));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(invalid(format!("{field}: at most {MAX_TEXT} characters")));
    }
    Ok(t.to_string())
}

fn phase_index(l: &Loaded, phase_id: &str) -> Result<usize, PlanError> {
    l.phases
        .iter()
        .position(|p| p.id == phase_id)
        .ok_or_else(|| PlanError::NotFound(format!("phase {phase_id:?} of this plan")))
}

/// What a command changed: the audit events to append, the message for the
/// person, and why decisions on changed evidence are dismissed.
struct Effect {
    events: Vec<(&'static str, Value)>,
    message: String,
    dismiss_reason: &'static str,
}

impl PlanService {
    pub(super) async fn run(
        &self,
        caller: &Caller,
        plan_id: &str,
        command: PlanCommand,
    ) -> Result<CommandOutcome, AppError> {
        let needed = match &command {
            PlanCommand::Decide { .. } => Action::ApproveGates,
            PlanCommand::Override { .. } | PlanCommand::OverrideChange { .. } => {
                Action::OverrideGates
            }
            PlanCommand::DecideChange { .. } => Action::ApproveGates,
            // Who may tick is the item's business (its tickers); reading is the floor.
            PlanCommand::Tick { .. } => Action::ReadPlans,
            _ => Action::WritePlans,
        };
        let who = caller.require(needed)?;
        let acting = Acting::of(who, caller);
        // The pilot query runs on its target first, outside the store's
        // transaction; what it lists is then allowed like a hand-made list.
        let (command, from) = match command {
            PlanCommand::LoadAllowQuery { phase_id, reason } => {
                let (environment, entities, from) = self.pilot_of(plan_id, &phase_id).await?;
                let command = PlanCommand::Allow {
                    environment,
                    entities,
                    reason,
                };
                (command, Some(from))
            }
            other => (other, None),
        };
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await.map_err(PlanError::from)?;
        let l = self.load_locked(&mut tx, plan_id).await?;
        let facts = self.facts(&mut tx, &l).await?;
        let effect = match (command, from) {
            (
                PlanCommand::Allow {
                    environment,
                    entities,
                    reason,
                },
                Some(from),
            ) => {
                let list = (environment, entities, from);
                allow::allow(&mut tx, &l, now, &self.environments, list, reason).await?
            }
            (command, _) => {
                apply(
                    &mut tx,
                    &l,
                    who,
                    &acting,
                    command,
                    now,
                    &facts,
                    &self.environments,
                )
                .await?
            }
        };
        for (action, details) in &effect.events {
            acting
                .audit(&mut tx, now, action, plan_id, details.clone())
                .await
                .map_err(PlanError::from)?;
        }
        let revision = self
            .finish(
                tx,
                plan_id,
                now,
                &acting,
                effect.dismiss_reason,
                &l.plan.source_toml,
            )
            .await?;
        Ok(CommandOutcome {
            message: effect.message,
            revision,
        })
    }
}

fn person(
    who: &Principal,
    what: &str,
) -> Result<(String, String, Vec<app::access::Role>), PlanError> {
    match who {
        Principal::User {
            id,
            username,
            roles,
        } => Ok((id.clone(), username.clone(), roles.clone())),
        Principal::Token { .. } => Err(invalid(format!("{what} needs a person, not an API token"))),
    }
}

#[allow(clippy::too_many_arguments)] // what every command may need
async fn apply(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    who: &Principal,
    acting: &Acting,
    command: PlanCommand,
    now: i64,
    facts: &Facts,
    environments: &[String],
) -> Result<Effect, PlanError> {
    let one_organisation = matches!(
        command,
        PlanCommand::Rollback {
            kind: RollbackKind::Entity,
            ..
        } | PlanCommand::Restore { .. }
    );
    if l.plan.status.is_final() && !one_organisation {
        return Err(invalid(format!(
            "the plan is {}, which is final: only a single organisation can still be rolled back or restored",
            l.plan.status
        )));
    }
    match command {
        PlanCommand::StartPhase { phase_id } => {
            phase::start_phase(conn, l, now, facts, phase_id).await
        }
        PlanCommand::RequestApproval { phase_id } => {
            gate::request_approval(conn, l, who, now, facts, phase_id).await
        }
        PlanCommand::Decide {
            phase_id,
            verdict,
            comment,
            evidence,
        } => {
            gate::decide(
                conn, l, who, now, facts, phase_id, verdict, comment, evidence,
            )
            .await
        }
        PlanCommand::Override {
            phase_id,
            reason,
            evidence,
        } => gate::override_gate(conn, l, who, now, facts, phase_id, reason, evidence).await,
        PlanCommand::Tick {
            item_id,
            ticked,
            comment,
        } => checklist::tick(conn, l, who, now, item_id, ticked, comment).await,
        PlanCommand::Complete => phase::complete_plan(conn, l, now, facts).await,
        PlanCommand::Rollback {
            kind,
            confirm,
            reason,
            entity,
        } => {
            rollback::rollback_command(conn, l, now, environments, kind, confirm, reason, entity)
                .await
        }
        PlanCommand::Resume { reason } => rollback::resume(conn, l, now, reason).await,
        PlanCommand::Restore { entity, reason } => {
            rollback::restore(conn, l, now, entity, reason).await
        }
        PlanCommand::DecideChange {
            change_id,
            verdict,
            comment,
        } => {
            change::decide_change(
                conn,
                l,
                who,
                acting,
                environments,
                now,
                change_id,
                verdict,
                comment,
            )
            .await
        }
        PlanCommand::OverrideChange { change_id, reason } => {
            change::override_change(conn, l, who, acting, environments, now, change_id, reason)
                .await
        }
        PlanCommand::WithdrawChange { change_id } => {
            change::withdraw_change(conn, l, who, acting, now, change_id).await
        }
        PlanCommand::Allow {
            environment,
            entities,
            reason,
        } => {
            let from = allow::From::Hand;
            allow::allow(
                conn,
                l,
                now,
                environments,
                (environment, entities, from),
                reason,
            )
            .await
        }
        PlanCommand::Disallow {
            environment,
            entity,
            reason,
        } => allow::disallow(conn, l, now, environment, entity, reason).await,
        PlanCommand::LoadAllowQuery { .. } => Err(invalid(
            "load_allow_query runs its query before the plan's transaction",
        )),
    }
}

fn changed_reason() -> &'static str {
    "the phase configuration or checklist changed"
}

fn untick(item: &mut store::ItemRecord) {
    item.ticked_by = None;
    item.ticked_by_name = None;
    item.ticked_at_ms = None;
    item.tick_comment = None;
}
