//! Backfill metrics on the console's Prometheus registry:
//! `rollout_backfill_rows_total{plan,job,outcome}` (created, skipped, error,
//! and would_create in dry-runs — the seeds' `sti_backfill_processed_total
//! {status,project_type}` is this with one job per project type),
//! `rollout_backfill_chunk_duration_seconds{plan,job}` (how long a chunk
//! held the target's locks), `rollout_backfill_chunk_step_seconds{plan,job,
//! step}` (statement, record, commit, bounds, checkpoint: where a chunk's
//! time went) and
//! `rollout_backfill_job_state{plan,job,state}` (1 for the current state).
use super::chunk::ChunkTimes;
use super::runs::RunStatus;
use prometheus::{HistogramVec, IntCounterVec, IntGaugeVec, Registry};

#[derive(Clone)]
pub struct BackfillMetrics {
    rows: IntCounterVec,
    chunk_seconds: HistogramVec,
    step_seconds: HistogramVec,
    state: IntGaugeVec,
}

impl BackfillMetrics {
    pub fn register(registry: &Registry) -> Result<BackfillMetrics, prometheus::Error> {
        let rows = prometheus::register_int_counter_vec_with_registry!(
            "rollout_backfill_rows_total",
            "Keys processed by backfill runs, by plan, job and outcome (created, skipped, error, would_create).",
            &["plan", "job", "outcome"],
            registry
        )?;
        let chunk_seconds = prometheus::register_histogram_vec_with_registry!(
            "rollout_backfill_chunk_duration_seconds",
            "How long a backfill chunk held the target's locks (its transaction, first statement to commit), by plan and job.",
            &["plan", "job"],
            vec![0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
            registry
        )?;
        let step_seconds = prometheus::register_histogram_vec_with_registry!(
            "rollout_backfill_chunk_step_seconds",
            "Where a backfill chunk's time went, by plan, job and step: statement, record (the created keys in the console), commit, bounds (read while the chunk before applied), checkpoint.",
            &["plan", "job", "step"],
            vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8],
            registry
        )?;
        let state = prometheus::register_int_gauge_vec_with_registry!(
            "rollout_backfill_job_state",
            "1 for a backfill job's current state (running, paused, done, failed, cancelled).",
            &["plan", "job", "state"],
            registry
        )?;
        Ok(BackfillMetrics {
            rows,
            chunk_seconds,
            step_seconds,
            state,
        })
    }

    pub fn chunk(&self, plan: &str, job: &str, counts: [(&str, i64); 3], times: &ChunkTimes) {
        for (outcome, n) in counts {
            if n > 0 {
                self.rows
                    .with_label_values(&[plan, job, outcome])
                    .inc_by(n as u64);
            }
        }
        self.chunk_seconds
            .with_label_values(&[plan, job])
            .observe(times.hold_ms / 1e3);
        for (step, ms) in [
            ("statement", times.statement_ms),
            ("record", times.record_ms),
            ("commit", times.commit_ms),
            ("bounds", times.bounds_ms),
            ("checkpoint", times.checkpoint_ms),
        ] {
            self.step_seconds
                .with_label_values(&[plan, job, step])
                .observe(ms / 1e3);
        }
    }

    pub fn state(&self, plan: &str, job: &str, current: RunStatus) {
        for s in RunStatus::ALL {
            self.state
                .with_label_values(&[plan, job, s.as_str()])
                .set(i64::from(*s == current));
        }
    }
}
