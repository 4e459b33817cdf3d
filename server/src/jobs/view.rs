//! Backfill records → the DTOs the UI and the API show.
use app::dto::backfill::RunView;

use crate::backfill::runs::Run;

pub fn view(r: Run) -> RunView {
    RunView {
        id: r.id,
        plan_id: r.plan_id,
        job: r.job,
        mode: r.mode,
        status: r.status,
        target: r.target,
        environment: r.environment,
        last_key: r.last_key,
        processed: r.processed,
        created: r.created,
        skipped: r.skipped,
        errors: r.errors,
        chunk_size: r.chunk_size,
        max_rows_per_sec: r.max_rows_per_sec,
        total_estimate: r.total_estimate,
        result: r.result,
        started_by: r.started_by,
        started_at_ms: r.started_at_ms,
        updated_at_ms: r.updated_at_ms,
        finished_at_ms: r.finished_at_ms,
    }
}
