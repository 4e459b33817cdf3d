//! Server functions of the job page.
use leptos::prelude::*;

use crate::dto::backfill::{JobView, RunView};
use crate::error::AppError;

#[server(endpoint = "backfill_job")]
pub async fn load_job(plan_id: String, job: String) -> Result<JobView, AppError> {
    crate::service::serve(async move |s, c| s.backfill.job(&c, plan_id, job).await).await
}

/// `mode`: run, dry_run, undo or verify; `environment` empty for the
/// plan's current one; `override_reason` empty unless overriding.
#[server(endpoint = "backfill_start")]
pub async fn start_backfill(
    plan_id: String,
    job: String,
    mode: String,
    environment: Option<String>,
    override_reason: Option<String>,
) -> Result<RunView, AppError> {
    crate::service::serve(async move |s, c| {
        let mode = crate::dto::backfill::RunMode::parse(&mode)
            .map_err(|e| AppError::Invalid(format!("mode: {e}")))?;
        let request = crate::dto::backfill::StartRun {
            mode: Some(mode),
            environment,
            override_reason,
            ..Default::default()
        };
        s.backfill.start(&c, plan_id, job, request).await
    })
    .await
}

#[server(endpoint = "backfill_pause")]
pub async fn pause_backfill(run_id: String) -> Result<(), AppError> {
    crate::service::serve(async move |s, c| s.backfill.pause(&c, run_id).await).await
}

#[server(endpoint = "backfill_target_test")]
pub async fn test_backfill_target(plan_id: String, job: String) -> Result<String, AppError> {
    crate::service::serve(async move |s, c| s.backfill.test_target(&c, plan_id, job).await).await
}

#[server(endpoint = "backfill_cancel")]
pub async fn cancel_backfill(run_id: String) -> Result<(), AppError> {
    crate::service::serve(async move |s, c| s.backfill.cancel(&c, run_id).await).await
}

/// Empty fields leave that setting as it is.
#[server(endpoint = "backfill_retune")]
pub async fn retune_backfill(
    run_id: String,
    chunk: Option<String>,
    max_rows_per_sec: Option<String>,
) -> Result<(), AppError> {
    let number = |field: &str, v: Option<String>| -> Result<Option<i64>, AppError> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => t
                .parse()
                .map(Some)
                .map_err(|_| AppError::Invalid(format!("{field}: {t:?} is not a whole number"))),
        }
    };
    crate::service::serve(async move |s, c| {
        let chunk = number("chunk", chunk)?;
        let rate = number("max_rows_per_sec", max_rows_per_sec)?;
        s.backfill.retune(&c, run_id, chunk, rate).await
    })
    .await
}

/// Lets a run waiting outside its job's window go on now; the reason is
/// audited.
#[server(endpoint = "backfill_window_override")]
pub async fn override_backfill_window(run_id: String, reason: String) -> Result<(), AppError> {
    crate::service::serve(async move |s, c| s.backfill.override_window(&c, run_id, reason).await)
        .await
}
