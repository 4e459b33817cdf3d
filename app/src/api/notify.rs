//! Server functions of the notifications page (admins).
use leptos::prelude::*;

use crate::dto::notify::DeliveryLog;
use crate::error::AppError;

#[server(endpoint = "notify_deliveries")]
pub async fn load_deliveries() -> Result<DeliveryLog, AppError> {
    crate::service::serve(async move |s, c| s.notify.deliveries(&c).await).await
}

/// Sends a given-up delivery again.
#[server(endpoint = "notify_retry")]
pub async fn retry_delivery(endpoint: String, seq: i64) -> Result<(), AppError> {
    crate::service::serve(async move |s, c| s.notify.retry(&c, &endpoint, seq).await).await
}
