//! Backfill shapes: a run of a plan's job as the API and the UI show it, and
//! the request that starts one.
use serde::{Deserialize, Serialize};

use super::plan_states::str_enum;
use super::whole;

str_enum!(
    /// What a run does: the live backfill, a dry-run (rolled back), undo of
    /// live runs, or a verify (reads only).
    RunMode { Run = "run", DryRun = "dry_run", Undo = "undo", Verify = "verify" }
);
str_enum!(
    /// Where a run stands. `running` and `paused` are unfinished (one of
    /// each mode per job at most), the rest are final.
    RunStatus { Running = "running", Paused = "paused", Done = "done", Failed = "failed", Cancelled = "cancelled" }
);

impl RunMode {
    /// For people: `live run`, `dry-run`, `undo`, `verify`.
    pub fn word(self) -> &'static str {
        match self {
            RunMode::Run => "live run",
            RunMode::DryRun => "dry-run",
            RunMode::Undo => "undo",
            RunMode::Verify => "verify",
        }
    }

    /// Short, for tables: `run`, `dry-run`, `undo`, `verify`.
    pub fn short(self) -> &'static str {
        match self {
            RunMode::Run => "run",
            other => other.word(),
        }
    }
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Done | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunView {
    pub id: String,
    pub plan_id: String,
    pub job: String,
    pub mode: RunMode,
    pub status: RunStatus,
    /// The target it ran on and the environment its evidence counts for
    /// (empty for runs recorded before the console kept them).
    pub target: String,
    pub environment: String,
    /// The checkpoint: every key up to it is committed on the target.
    pub last_key: Option<i64>,
    pub processed: i64,
    pub created: i64,
    pub skipped: i64,
    pub errors: i64,
    pub chunk_size: i64,
    /// 0 = no ceiling.
    pub max_rows_per_sec: i64,
    pub total_estimate: Option<i64>,
    /// What a verify found, why a run paused, …
    pub result: serde_json::Value,
    pub started_by: String,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// Starts a run of a plan's job.
// Only read (never serialized: an optional number is left out of a body,
// never `null`, which `whole::optional` refuses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StartRun {
    /// What the run does; default `run`.
    #[serde(default)]
    pub mode: Option<RunMode>,
    /// Keys per chunk to start with.
    #[serde(default, deserialize_with = "whole::optional")]
    pub chunk: Option<i64>,
    /// Start after this key.
    #[serde(default, deserialize_with = "whole::optional")]
    pub resume_from: Option<i64>,
    /// The environment whose evidence the run is (the job runs on its target
    /// there); default: the plan's current phase's environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// A live run the plan objects to (no clean dry-run on its target, not
    /// one of the job's phases) goes ahead only with a reason (audited).
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// A live change to a running run: one or both of its knobs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(min_properties = 1))]
pub struct Tune {
    /// Keys per chunk from the next chunk on (then fixed).
    #[serde(default, deserialize_with = "whole::optional")]
    pub chunk: Option<i64>,
    /// The rows/s ceiling; 0 = no ceiling.
    #[serde(default, deserialize_with = "whole::optional")]
    pub max_rows_per_sec: Option<i64>,
}

/// Why a run waiting outside its job's window may go on now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WindowOverride {
    /// Audited with the override (1 to 500 characters).
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 500))]
    pub reason: String,
}

/// One key that failed, with its error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyError {
    pub key: i64,
    pub error: String,
}

/// The target a job's run for an environment goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnvTarget {
    pub environment: String,
    pub target: String,
}

/// Everything the job page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobView {
    pub plan_id: String,
    pub plan_name: String,
    pub job: String,
    /// Where a run for each environment goes, in promotion order.
    pub targets: Vec<EnvTarget>,
    /// The environment a run is for unless it says (the plan's current one).
    pub environment: String,
    /// No apply: the job only verifies.
    pub verify_only: bool,
    /// A live run needs a clean dry-run on its target first.
    pub require_dry_run: bool,
    /// The phases a live run may start in (empty: any).
    pub phases: Vec<String>,
    pub has_undo: bool,
    pub has_verify: bool,
    /// Newest first.
    pub runs: Vec<RunView>,
    /// The failing keys (at most 100) of the newest run that processed keys
    /// (a verify does not).
    pub errors: Vec<KeyError>,
    /// Recent rate of the newest run, keys/s.
    pub rate: f64,
    pub eta_secs: Option<f64>,
    /// The newest run's progress chart (SVG, rendered on the server).
    pub chart_svg: String,
}
