//! What one chunk of a run reports to the run loop: how it ended when it
//! did not apply (`ApplyError`) and where its time went (`ChunkTimes`).
//! Applying it is `apply.rs`; the loop is `runner.rs`.
use super::error::BackfillError;
use super::runs::Outcome;

pub enum ApplyError {
    /// The rows themselves fail (a constraint, bad data) and the job does
    /// not skip them; `first` is the chunk's first key.
    Data { first: i64, message: String },
    /// Retries did not cure it: stop, resumable.
    Gave(String),
    /// The run was paused or cancelled while a lock held it.
    Ended(Outcome),
    /// The console's own store failed, or the keys could not be read: stop.
    Stop(BackfillError),
}

impl From<BackfillError> for ApplyError {
    fn from(e: BackfillError) -> Self {
        ApplyError::Stop(e)
    }
}

/// Where a chunk's time went, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkTimes {
    /// Locks held on the target: the longest of the chunk's transactions,
    /// from its first statement to its commit (what the pace aims at).
    pub hold_ms: f64,
    /// The plan's statement(s), within the hold.
    pub statement_ms: f64,
    /// The created keys recorded in the console's store, within the hold.
    pub record_ms: f64,
    /// The target's commit, within the hold.
    pub commit_ms: f64,
    /// The chunk's bounds (read while the chunk before it applied).
    pub bounds_ms: f64,
    /// The checkpoint in the console's store, after the commit.
    pub checkpoint_ms: f64,
}
