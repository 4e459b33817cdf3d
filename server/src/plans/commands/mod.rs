//! The commands of the plan page and the API: start a phase, tick the
//! checklist, request and decide approval, override a gate, complete, roll
//! back. Each runs in one transaction with its audit event(s); `run` checks
//! who may, loads the plan and dispatches to the family that owns the command.
mod allow;
mod baseline;
mod change;
mod checklist;
mod gate;
mod incident;
mod phase;
mod rollback;
mod signing;
mod system;

use app::access::{Action, Principal, Role};
use app::dto::plans::{CommandOutcome, PlanCommand, PlanStatus, RollbackKind};
use app::error::AppError;
use app::service::Caller;
use serde_json::Value;

use crate::plans::acting::Acting;
use crate::plans::error::PlanError;
use crate::plans::rules::facts::Facts;
use crate::plans::service::PlanService;
use crate::plans::store::{self, Loaded};

const MAX_TEXT: usize = 2_000;

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

/// What a command names (a phase, an item, a change request, a guardrail)
/// is not in the plan as it stands: the caller read another revision (409
/// `stale_revision`; the plan at the URL exists, so not 404).
fn not_in_plan(what: String) -> PlanError {
    PlanError::Conflict(
        app::error::Conflict::StaleRevision,
        format!("{what} is not in this plan as it stands; reload it (an edit may have changed it)"),
    )
}

/// A destructive command whose typed plan name does not match (409).
fn not_confirmed(message: String) -> PlanError {
    PlanError::Conflict(app::error::Conflict::NotConfirmed, message)
}

/// The request is right, but the plan's state does not allow it now (409).
fn wrong_state(message: impl Into<String>) -> PlanError {
    PlanError::Conflict(app::error::Conflict::WrongState, message.into())
}

/// The caller may not do this (403); `message` completes "you are not
/// allowed to …".
fn forbidden(message: impl Into<String>) -> PlanError {
    PlanError::Forbidden(message.into())
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
        .ok_or_else(|| not_in_plan(format!("phase {phase_id:?}")))
}

/// What a command changed: the audit events to append, the message for the
/// person, and why decisions on changed evidence are dismissed.
struct Effect {
    events: Vec<(&'static str, Value)>,
    message: String,
    dismiss_reason: &'static str,
}

impl Effect {
    /// One audit event and the message; decisions on the phase's evidence
    /// are dismissed as [`changed_reason`] says, should it have changed.
    fn one(action: &'static str, details: Value, message: String) -> Effect {
        Effect {
            events: vec![(action, details)],
            message,
            dismiss_reason: changed_reason(),
        }
    }
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
            // Whoever was paged answers; the command says who else may.
            PlanCommand::Acknowledge { .. } => Action::ReadPlans,
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
        // Stamped once the store is held: the trail's times follow its order.
        let mut tx = self.store.begin_write().await.map_err(PlanError::from)?;
        let now = self.clock.now_ms();
        let l = self.load_locked(&mut tx, plan_id).await?;
        let facts = self.facts(&mut tx, &l).await?;
        let cx = self.cx(&l, &facts, (Some(who), &acting), now);
        let effect = match (command, from) {
            (
                PlanCommand::Allow {
                    environment,
                    entities,
                    reason,
                },
                Some(from),
            ) => allow::allow(&mut tx, cx, (environment, entities, from, reason)).await?,
            (command, _) => apply(&mut tx, cx, command).await?,
        };
        let revision = self
            .conclude(tx, cx, effect.events, effect.dismiss_reason)
            .await?;
        Ok(CommandOutcome {
            message: effect.message,
            revision,
        })
    }

    /// What a command on `l` reads, as `who` (`None`: the console itself).
    fn cx<'a>(
        &'a self,
        l: &'a Loaded,
        facts: &'a Facts,
        (who, acting): (Option<&'a Principal>, &'a Acting),
        now: i64,
    ) -> Cx<'a> {
        let environments = &self.environments;
        Cx {
            l,
            now,
            facts,
            environments,
            prometheus: &self.prometheus,
            who,
            acting,
        }
    }

    /// Audits a command's events, then finishes its transaction (dismissals,
    /// the new revision, the commit).
    async fn conclude(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        cx: Cx<'_>,
        events: Vec<(&'static str, Value)>,
        dismiss_reason: &str,
    ) -> Result<i64, PlanError> {
        let plan_id = &cx.l.plan.id;
        for (action, details) in events {
            cx.acting
                .audit(&mut tx, cx.now, action, plan_id, details)
                .await?;
        }
        let source = &cx.l.plan.source_toml;
        self.finish(tx, plan_id, cx.now, cx.acting, dismiss_reason, source)
            .await
    }
}

/// What every command may read: the locked plan, the time, the facts its
/// checks judge, the environments, and who acts (`None`: the console itself).
#[derive(Clone, Copy)]
struct Cx<'a> {
    l: &'a Loaded,
    now: i64,
    facts: &'a Facts,
    environments: &'a [String],
    prometheus: &'a std::collections::BTreeMap<String, crate::config::PrometheusConfig>,
    who: Option<&'a Principal>,
    acting: &'a Acting,
}

impl Cx<'_> {
    /// The person acting: their id, name and roles; `what` names the
    /// command ("decide on a gate") for the refusal an API token or the
    /// console itself gets.
    fn person(&self, what: &str) -> Result<(String, String, Vec<Role>), PlanError> {
        match self.who {
            Some(Principal::User {
                id,
                username,
                roles,
            }) => Ok((id.clone(), username.clone(), roles.clone())),
            _ => Err(forbidden(format!(
                "{what} with an API token: it needs a person signed in"
            ))),
        }
    }
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    command: PlanCommand,
) -> Result<Effect, PlanError> {
    let l = cx.l;
    // A final plan takes single-organisation rollbacks and restores and
    // entities taken off an allow list (which only lower exposure); a
    // completed one (launched) also its kill switch, the emergency rollback.
    let still_allowed = match &command {
        PlanCommand::Rollback { kind, .. } => {
            *kind == RollbackKind::Entity
                || (*kind == RollbackKind::Emergency && l.plan.status == PlanStatus::Completed)
        }
        PlanCommand::Restore { .. } | PlanCommand::Disallow { .. } => true,
        _ => false,
    };
    if l.plan.status.is_final() && !still_allowed {
        let also = if l.plan.status == PlanStatus::Completed {
            " and its kill switch (the emergency rollback) turned"
        } else {
            ""
        };
        return Err(wrong_state(format!(
            "the plan is {}, which is final: only a single organisation can still be rolled back, restored or taken off an allow list{also}",
            l.plan.status
        )));
    }
    match command {
        PlanCommand::StartPhase { phase_id } => {
            phase::start_phase(conn, cx, phase_index(l, &phase_id)?).await
        }
        PlanCommand::RequestApproval { phase_id } => {
            gate::request_approval(conn, cx, phase_index(l, &phase_id)?).await
        }
        PlanCommand::Decide {
            phase_id,
            verdict,
            comment,
            evidence,
            signature,
        } => gate::decide(conn, cx, (phase_id, verdict, comment, evidence), signature).await,
        PlanCommand::Override {
            phase_id,
            reason,
            evidence,
        } => gate::override_gate(conn, cx, (phase_id, reason, evidence)).await,
        PlanCommand::Tick {
            item_id,
            ticked,
            comment,
        } => checklist::tick(conn, cx, (item_id, ticked, comment)).await,
        PlanCommand::Complete { confirm } => phase::complete_plan(conn, cx, confirm).await,
        PlanCommand::Rollback {
            kind,
            confirm,
            reason,
            entity,
            accept_irreversible,
        } => {
            let asked = rollback::Asked {
                kind,
                confirm,
                reason,
                entity,
                accept_irreversible,
            };
            rollback::rollback_command(conn, cx, asked).await
        }
        PlanCommand::Resume { reason } => rollback::resume(conn, cx, reason).await,
        PlanCommand::Restore { entity, reason } => {
            rollback::restore(conn, cx, (entity, reason)).await
        }
        PlanCommand::DecideChange {
            change_id,
            verdict,
            comment,
        } => change::decide_change(conn, cx, (change_id, verdict, comment)).await,
        PlanCommand::OverrideChange { change_id, reason } => {
            change::override_change(conn, cx, (change_id, reason)).await
        }
        PlanCommand::WithdrawChange { change_id } => {
            change::withdraw_change(conn, cx, change_id).await
        }
        PlanCommand::Allow {
            environment,
            entities,
            reason,
        } => {
            let from = allow::From::Hand;
            allow::allow(conn, cx, (environment, entities, from, reason)).await
        }
        PlanCommand::Disallow {
            environment,
            entity,
            reason,
        } => allow::disallow(conn, cx, (environment, entity, reason)).await,
        PlanCommand::Continue { issue, reason } => rollback::go_on(cx, (issue, reason)),
        PlanCommand::CaptureBaseline { guardrail, reason } => {
            baseline::capture_baseline(conn, cx, (guardrail, reason)).await
        }
        PlanCommand::Acknowledge { incident_id } => {
            incident::acknowledge(conn, cx, incident_id).await
        }
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
