//! What the dashboard shows: what is live right now, for the person asking.
use serde::{Deserialize, Serialize};

use super::audit::AuditEvent;
use super::backfill::RunView;
use super::plans::PlanSummary;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveView {
    /// Active plans, each with every environment's exposure.
    pub active: Vec<PlanSummary>,
    /// Backfill runs of unfinished plans (active or draft) that are running or paused.
    pub runs: Vec<LiveRun>,
    /// Gates the person may decide on and has not (approvers only).
    pub waiting: Vec<WaitingGate>,
    /// Change requests (edits that weaken a gate) the person may decide on
    /// and has not: not their own, one of the weakened gate's roles.
    pub waiting_changes: Vec<WaitingChange>,
    /// Recent rollbacks, pauses and guardrail actions (with audit access).
    pub incidents: Vec<AuditEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveRun {
    pub plan_name: String,
    pub run: RunView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingGate {
    pub plan_id: String,
    pub plan_name: String,
    pub phase: String,
    pub environment: String,
    pub exposure_bp: i64,
    pub approvals: i64,
    pub approvals_required: i64,
    pub requested_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingChange {
    pub plan_id: String,
    pub plan_name: String,
    pub author: String,
    /// What it weakens, one sentence each.
    pub weakens: Vec<String>,
    pub approvals: i64,
    pub approvals_required: i64,
}
