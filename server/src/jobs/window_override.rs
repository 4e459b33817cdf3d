//! An operator lets a run that waits outside its job's window go on
//! (`backfill::window`): the reason is stored on the run, where whichever
//! process drives it reads it, and audited as `backfill.window_override` in
//! the same transaction.
use serde_json::json;

use super::manager::{run_event, JobManager};
use crate::audit::{Actor, ClientInfo};
use crate::backfill::error::BackfillError;
use crate::backfill::job::Job;
use crate::backfill::runs;

impl JobManager {
    /// Lets a running run that waits outside its job's window go on, with
    /// why (audited, and read by whichever process drives the run).
    pub async fn override_window(
        &self,
        actor: &Actor,
        client: &ClientInfo,
        run_id: &str,
        reason: &str,
    ) -> Result<(), BackfillError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(BackfillError::Invalid(
                "reason: say why the run may go on outside its window (1 to 500 characters)".into(),
            ));
        }
        let run = runs::get(&self.store, run_id)
            .await?
            .ok_or_else(|| BackfillError::NotFound(format!("run {run_id:?}")))?;
        let (source, _) = self.plan_source(&run.plan_id).await?;
        let window = Job::find(&source, &run.job)?.window.ok_or_else(|| {
            BackfillError::Conflict(
                app::error::Conflict::WrongState,
                format!("job {:?} has no window to override", run.job),
            )
        })?;
        let mut tx = self.store.begin_write().await?;
        if !runs::override_window(&mut tx, run_id, reason).await? {
            return Err(BackfillError::Conflict(
                app::error::Conflict::WrongState,
                format!(
                    "run {run_id:?} is {}; only a running run waits for its window",
                    run.status
                ),
            ));
        }
        let details = json!({ "window": window.describe(), "reason": reason });
        run_event(
            &mut tx,
            actor,
            client,
            "backfill.window_override",
            &run,
            details,
        )
        .await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        self.events.changed(&run.plan_id);
        Ok(())
    }
}
