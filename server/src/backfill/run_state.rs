//! What a run does (its mode) and where it stands (its status), as the API,
//! the UI and the store name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    DryRun,
    Undo,
    Verify,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::DryRun => "dry_run",
            Mode::Undo => "undo",
            Mode::Verify => "verify",
        }
    }

    /// A mode as the API and the UI name it.
    pub fn parse(s: &str) -> Result<Mode, String> {
        match s {
            "run" => Ok(Mode::Run),
            "dry_run" => Ok(Mode::DryRun),
            "undo" => Ok(Mode::Undo),
            "verify" => Ok(Mode::Verify),
            other => Err(format!(
                "mode: {other:?} is not one of run, dry_run, undo, verify"
            )),
        }
    }
}

/// Where a run stands. Stored as its text; `running` and `paused` are
/// unfinished (one of each mode per job at most), the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Paused,
    Done,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Paused,
        RunStatus::Done,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<RunStatus, String> {
        RunStatus::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("run status {s:?} is not one of running, paused, done, failed, cancelled")
            })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Done | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
