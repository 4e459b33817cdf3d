//! Backfill shapes: a run of a plan's job as the API and the UI show it, and
//! the request that starts one.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunView {
    pub id: String,
    pub plan_id: String,
    pub job: String,
    /// `run`, `dry_run`, `undo` or `verify`.
    pub mode: String,
    /// `running`, `paused`, `done`, `failed` or `cancelled`.
    pub status: String,
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StartRun {
    /// `run` (default), `dry_run`, `undo` or `verify`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Keys per chunk to start with.
    #[serde(default)]
    pub chunk: Option<i64>,
    /// Start after this key.
    #[serde(default)]
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

/// A live change to a running run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Tune {
    #[serde(default)]
    pub chunk: Option<i64>,
    /// 0 = no ceiling.
    #[serde(default)]
    pub max_rows_per_sec: Option<i64>,
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
