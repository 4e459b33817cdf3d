//! The commands the plan page and the REST API send a plan, and what one
//! did.
use serde::{Deserialize, Serialize};

use super::plan_states::{RollbackKind, Verdict};

/// What the plan page (or the REST API) asks the plan to do. Every
/// `reason` (and `issue`) says why, for the audit trail: at least one
/// character that is not a space, at most 2,000.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum PlanCommand {
    /// Starts a phase (the first one also activates the plan) and sets the
    /// flag to its exposure.
    StartPhase {
        phase_id: String,
    },
    RequestApproval {
        phase_id: String,
    },
    /// Approve or reject; `evidence` is the `evidence_hash` the decider saw.
    Decide {
        phase_id: String,
        verdict: Verdict,
        #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
        comment: String,
        evidence: String,
        /// On a gate that requires it (`signed = true`): the passkey's
        /// assertion over the challenge `POST …/sign` handed out for this
        /// very decision.
        #[serde(default)]
        signature: Option<SignedAssertion>,
    },
    /// An admin passes the gate without its approvals.
    Override {
        phase_id: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
        evidence: String,
    },
    Tick {
        item_id: String,
        ticked: bool,
        #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
        comment: String,
    },
    /// The last phase is approved: finish the plan, leaving the flag as it
    /// is (launched) with its kill switch. `confirm` must be the plan's name.
    Complete {
        #[serde(default)]
        confirm: String,
    },
    /// `confirm` must be the plan's name; `entity` only for `entity`.
    /// `accept_irreversible`: take it although an irreversible phase has
    /// started where it turns the flag down (refused otherwise).
    Rollback {
        kind: RollbackKind,
        confirm: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
        entity: String,
        #[serde(default)]
        accept_irreversible: bool,
    },
    /// After "pause at 0 %": the running phase's environment back to the
    /// phase's exposure.
    Resume {
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Undoes a single-organisation rollback: `entity` off the deny list in
    /// every environment.
    Restore {
        entity: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Approve or reject a change request (not its author).
    DecideChange {
        change_id: String,
        verdict: Verdict,
        #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
        comment: String,
    },
    /// An admin applies a change request without its approvals.
    OverrideChange {
        change_id: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Its author (or an admin) withdraws a change request.
    WithdrawChange {
        change_id: String,
    },
    /// Puts pilot entities on `environment`'s allow list (they evaluate on
    /// whatever the percentage, unless denied or the flag is off).
    Allow {
        environment: String,
        entities: Vec<String>,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Takes one entity off `environment`'s allow list.
    Disallow {
        environment: String,
        entity: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Runs the phase's `allow_query` on its target and puts what it lists on
    /// the phase's environment's allow list.
    LoadAllowQuery {
        phase_id: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Records a decision to go on despite an issue seen in the running
    /// phase (seed 004's matrix: "Cache unavailable — continue, it has a
    /// fallback"), with why: nothing changes but the audit trail.
    Continue {
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        issue: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
    /// Someone answers an incident: its escalation stops (a person who was
    /// paged, an operator or an approver).
    Acknowledge {
        incident_id: String,
    },
    /// Takes `guardrail`'s newest value in the running phase as its baseline
    /// when none was captured before the phase started (audited, with why).
    CaptureBaseline {
        guardrail: String,
        #[cfg_attr(feature = "ssr", schema(pattern = r"\S", max_length = 2000))]
        reason: String,
    },
}

/// What a command did, in words, and the plan's new revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CommandOutcome {
    pub message: String,
    pub revision: i64,
}

/// A WebAuthn assertion (`navigator.credentials.get`), its binary fields in
/// base64url, answering the challenge handed out with `nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignedAssertion {
    pub nonce: String,
    pub credential_id: String,
    pub authenticator_data: String,
    pub client_data_json: String,
    pub signature: String,
}
