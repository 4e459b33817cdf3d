//! Rollout plan shapes: plans, phases, checklist items, gate decisions and
//! the flag a plan owns (the commands the plan page sends: `plan_commands`).
use serde::{Deserialize, Serialize};

use crate::access::Role;

pub use super::plan_commands::{CommandOutcome, PlanCommand};
pub use super::plan_states::*;

/// One line of the plans list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanSummary {
    pub id: String,
    pub name: String,
    pub flag_key: String,
    pub status: PlanStatus,
    /// The phase now running, if any.
    pub current_phase: Option<String>,
    pub phases_done: i64,
    pub phases_total: i64,
    /// The flag's effective exposure in each environment, in promotion order.
    pub exposures: Vec<EnvExposure>,
    /// The id of the change request that waits for approval, if one does.
    pub pending_change: Option<String>,
    pub revision: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnvExposure {
    pub environment: String,
    /// 0..=10 000, the kill switch counted (off = 0).
    pub exposure_bp: i64,
    /// Entities on the allow list, on whatever the percentage (0 when the
    /// kill switch is off: then nobody is).
    #[serde(default)]
    pub allowed: usize,
    /// The kill switch is off (paused, rolled back): nobody is on.
    #[serde(default)]
    pub off: bool,
}

impl EnvExposure {
    /// "5 %", "0 % + 99 allowed", or "off" while its kill switch is off.
    pub fn text(&self) -> String {
        if self.off {
            "off".into()
        } else {
            exposure_text(self.exposure_bp, self.allowed)
        }
    }
}

/// The plan page's data, read at one moment: the plan, its timeline over
/// the range asked (or why not), and `tag`, which names what both were
/// drawn from (two pages with the same tag show the same; `pages::regions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPage {
    pub tag: String,
    pub plan: PlanView,
    pub timeline: Result<TimelineView, crate::error::AppError>,
}

/// Everything the plan page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanView {
    pub summary: PlanSummary,
    pub description: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub flag: FlagView,
    pub phases: Vec<PhaseView>,
    /// What each rollback would do now.
    pub rollbacks: Vec<RollbackPreview>,
    /// An edit that weakens a gate, waiting for its approvals.
    pub change_request: Option<ChangeRequestView>,
    /// The backfill jobs the plan file declares.
    pub jobs: Vec<String>,
    /// The guardrails it declares, with their newest readings.
    pub guardrails: Vec<GuardrailView>,
    /// Server time the view was computed at (soak countdowns use it).
    pub now_ms: i64,
    /// Edits of the plan file since its last approval (before any: since
    /// it was imported), oldest first: what an approver signs over.
    #[serde(default)]
    pub edits_since_approval: Vec<PlanEditView>,
    /// The pause, rollback or abort the plan is still in, if any.
    #[serde(default)]
    pub incident: Option<IncidentView>,
    /// The plan's newest incident as on-call sees it: who was paged, who
    /// is next and when, who acknowledged it.
    #[serde(default)]
    pub oncall: Option<OnCallView>,
}

/// An incident (a breach, an automatic rollback, a failed backfill) and its
/// escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OnCallView {
    pub id: String,
    pub opened_ms: i64,
    /// The audit event that opened it.
    pub seq: i64,
    pub action: String,
    pub environment: String,
    pub summary: String,
    /// Steps of the plan's escalation paged so far, of how many.
    pub steps_paged: i64,
    pub steps_total: i64,
    /// Everyone paged so far.
    pub paged: Vec<String>,
    /// While unacknowledged: when the next step pages, and whom (usernames
    /// and `role:NAME`s as the plan file says).
    pub next_at_ms: Option<i64>,
    pub next_page: Vec<String>,
    pub acked_by: Option<String>,
    pub acked_ms: Option<i64>,
}
/// A pause, rollback or abort the plan is still in: what, when, who, why,
/// where, and what people do now (the plan file's `[rollback]` steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IncidentView {
    pub seq: i64,
    pub at_ms: i64,
    pub action: String,
    pub by: String,
    /// Done by the console itself (a guardrail).
    pub by_system: bool,
    pub why: String,
    pub environment: String,
    pub follow_up: Vec<String>,
}

/// One edit of the plan file, as the audit trail recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanEditView {
    pub at_ms: i64,
    pub by: String,
    /// What it changed, in words ("gate of \"pilot\": approvals 2 → 1").
    pub changes: Vec<String>,
}

/// The plan's timeline over a time range: the chart and the audit events in
/// the range (newest first, at most 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimelineView {
    pub from_ms: i64,
    pub to_ms: i64,
    /// SVG, rendered on the server.
    pub svg: String,
    /// The range's newest audit events (at most 50), newest first.
    pub events: Vec<crate::dto::audit::AuditEvent>,
    /// How many audit events the range holds in all.
    #[serde(default)]
    pub events_in_range: usize,
}

/// A guardrail of the plan and how it reads now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GuardrailView {
    pub name: String,
    /// The environments it watches (empty: every one).
    pub environments: Vec<String>,
    /// `prometheus NAME` or `target NAME`.
    pub source: String,
    /// The healthy range, in words.
    pub threshold: String,
    /// record, pause, rollback or emergency.
    pub action: String,
    pub dry_run: bool,
    /// The newest reading in each environment it was read in.
    pub readings: Vec<ReadingView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReadingView {
    pub environment: String,
    pub at_ms: i64,
    /// healthy, failed, inconclusive or error.
    pub outcome: String,
    pub value: Option<String>,
    pub detail: String,
    /// Where it was read (the server as resolved for its environment, or
    /// the target; empty for readings stored before the console said).
    #[serde(default)]
    pub source: String,
    /// The exact query it ran, the environment put in.
    #[serde(default)]
    pub query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FlagView {
    pub key: String,
    /// What a typed flag serves on and off (`[flag]`), e.g. `string: on =
    /// "dark" (dark-theme), off = "light" (light-theme)`; `None` for a
    /// boolean flag.
    #[serde(default)]
    pub serves: Option<String>,
    /// Every configured environment (and any other the flag has a state
    /// in), in promotion order.
    pub environments: Vec<EnvFlagView>,
}

/// A flag in one environment. An environment never set is off at 0 %.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnvFlagView {
    pub environment: String,
    /// The kill switch.
    pub enabled: bool,
    /// 0..=10 000 (500 = 5 %).
    pub exposure_bp: i64,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// 0 when never set.
    pub updated_at_ms: i64,
    /// What set it last: a phase's name, or `rollback`; empty when never set.
    #[serde(default)]
    pub set_by: String,
}

impl EnvFlagView {
    /// The share that evaluates on, the kill switch counted.
    pub fn effective_bp(&self) -> i64 {
        if self.enabled {
            self.exposure_bp
        } else {
            0
        }
    }
}

/// An edit that weakens a gate: it takes effect once `approvals_required`
/// people with one of `approver_roles` (never its author) approve, or an
/// admin overrides with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangeRequestView {
    pub id: String,
    pub author: String,
    pub author_id: String,
    pub created_at_ms: i64,
    /// What it weakens, one sentence each.
    pub weakens: Vec<String>,
    /// The plan file's lines it changes (a unified diff against the file in
    /// force).
    #[serde(default)]
    pub diff: String,
    pub approvals_required: i64,
    pub approver_roles: Vec<crate::access::Role>,
    pub approvals: i64,
    pub decisions: Vec<ChangeDecisionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChangeDecisionView {
    pub user_id: String,
    pub username: String,
    pub verdict: Verdict,
    pub comment: String,
    pub created_at_ms: i64,
}

/// What one rollback would do, shown before its typed confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RollbackPreview {
    pub kind: RollbackKind,
    /// Why it cannot be used now, if it cannot.
    pub unavailable: Option<String>,
    /// Why it is no longer safe (it turns the flag down where an
    /// irreversible phase has started); taking it must be accepted.
    pub unsafe_because: Option<String>,
    /// Every environment, changed or not: effective exposure and allow list
    /// before → after.
    pub changes: Vec<ExposureChange>,
    /// What people do in it that the console cannot run (the plan file's
    /// `[rollback]` steps).
    pub runbook: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExposureChange {
    pub environment: String,
    pub before_bp: i64,
    pub after_bp: i64,
    /// How many entities the allow list turns on whatever the percentage
    /// (a pilot), before and after.
    pub allowed_before: i64,
    pub allowed_after: i64,
}

impl ExposureChange {
    pub fn changes_anything(&self) -> bool {
        self.before_bp != self.after_bp || self.allowed_before != self.allowed_after
    }

    /// "production 5 % → 0 %", "production 0 % + 3 allowed → 0 %",
    /// "dev 100 % (unchanged)".
    pub fn describe(&self) -> String {
        let side = |bp: i64, allowed: i64| match allowed {
            0 => percent(bp),
            n => format!("{} + {n} allowed", percent(bp)),
        };
        let before = side(self.before_bp, self.allowed_before);
        if self.changes_anything() {
            format!(
                "{} {before} → {}",
                self.environment,
                side(self.after_bp, self.allowed_after)
            )
        } else {
            format!("{} {before} (unchanged)", self.environment)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PhaseView {
    pub id: String,
    pub position: i64,
    pub name: String,
    pub environment: String,
    pub exposure_bp: i64,
    pub notes: String,
    pub status: PhaseStatus,
    pub approvals_required: i64,
    pub approver_roles: Vec<Role>,
    /// The people the gate asks (empty: every holder of the roles).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Decisions must be signed with a passkey.
    #[serde(default)]
    pub signed: bool,
    pub soak_ms: i64,
    pub started_at_ms: Option<i64>,
    pub requested_by: Option<String>,
    pub requested_at_ms: Option<i64>,
    pub approved_at_ms: Option<i64>,
    pub done_at_ms: Option<i64>,
    pub checklist: Vec<ItemView>,
    /// Every decision, live first; dismissed ones stay visible.
    pub decisions: Vec<DecisionView>,
    /// SHA-256 of the phase configuration and checklist evidence as shown;
    /// a decision names it, and is refused if the phase changed meanwhile.
    pub evidence_hash: String,
    /// Live approvals counted toward the gate.
    pub approvals: i64,
    /// Whether a live admin override passed this gate.
    pub overridden: bool,
    pub checklist_complete: bool,
    /// Why this phase cannot start now (empty when it can).
    pub start_blockers: Vec<String>,
    /// Pilot entities its start puts on the allow list (`allow`).
    pub pilot: Vec<String>,
    /// The target its `allow_query` runs on, when it has one.
    pub allow_query_target: Option<String>,
    /// What people do in it that the console cannot run, in order.
    pub runbook: Vec<String>,
    /// Why it cannot be undone by turning the flag down, when the plan file
    /// marks it irreversible.
    pub irreversible: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ItemView {
    pub id: String,
    pub position: i64,
    /// An entry criterion: must hold before the phase starts.
    pub entry: bool,
    pub kind: ItemKind,
    pub text: String,
    /// Manual items: who may tick.
    pub tickers: Vec<Role>,
    /// Automatic items: the check's name.
    pub check: Option<String>,
    pub max_delta: Option<i64>,
    pub ticked_by: Option<String>,
    pub ticked_at_ms: Option<i64>,
    pub tick_comment: Option<String>,
    /// Ticked, or the automatic check passes.
    pub met: bool,
    /// False for automatic checks whose source is not built yet (unmet).
    pub evaluable: bool,
    /// How the automatic check judged (empty for manual items).
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub id: String,
    pub username: String,
    pub verdict: Verdict,
    pub comment: String,
    pub created_at_ms: i64,
    pub dismissed_at_ms: Option<i64>,
    pub dismissed_reason: Option<String>,
}

/// One version a plan file has had, named by its SHA-256 (as the audit
/// events name it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanSourceVersion {
    pub sha256: String,
    /// When the console first saw it (imported, saved or proposed).
    pub first_at_ms: i64,
    /// Whether it is the plan's file now.
    pub current: bool,
}

/// A built-in template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplateInfo {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub flag_key: String,
    pub phases: Vec<String>,
}

/// A new plan from a built-in template, renamed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewPlan {
    pub template: String,
    pub name: String,
    pub flag_key: String,
}

/// A plan's TOML source as stored, with the revision an edit must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanSource {
    pub id: String,
    pub name: String,
    pub status: PlanStatus,
    pub revision: i64,
    pub source: String,
}

/// The answer of the flag evaluate endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FlagEvaluation {
    pub key: String,
    /// The environment evaluated in.
    pub environment: String,
    pub entity: String,
    pub value: bool,
    /// `disabled`, `denied`, `allowed` or `split`.
    pub reason: String,
    /// The entity's bucket, 0..10 000.
    pub bucket: i64,
    pub exposure_bp: i64,
}

/// `500` → `5 %`, `50` → `0.5 %`.
/// An environment's exposure as people must read it: the percentage and the
/// pilot entities on top of it ("0 % + 100 allowed"), never a bare "0 %"
/// while a pilot is on.
pub fn exposure_text(bp: i64, allowed: usize) -> String {
    match allowed {
        0 => percent(bp),
        n => format!("{} + {n} allowed", percent(bp)),
    }
}

pub fn percent(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{} %", bp / 100)
    } else {
        let s = format!("{:.2}", bp as f64 / 100.0);
        format!("{} %", s.trim_end_matches('0').trim_end_matches('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for s in PhaseStatus::ALL {
            assert_eq!(PhaseStatus::parse(s.as_str()), Ok(*s));
        }
        assert!(PlanStatus::parse("paused").unwrap_err().contains("draft"));
        assert_eq!(percent(500), "5 %");
        assert_eq!(percent(50), "0.5 %");
        assert_eq!(percent(125), "1.25 %");
    }
}
