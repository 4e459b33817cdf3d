//! The plan page's live redraw: the parts of the page that changed since the
//! browser drew it (`pages::regions`). Apart from the plan's other server
//! functions because it draws the page's parts, which post to them.
use leptos::prelude::*;

use crate::error::AppError;

/// A redraw of the plan page after a change: the regions whose sum is not
/// the one the browser holds (`have`: `id:sum` pairs, comma-separated),
/// drawn for the caller; `reload` when the page's regions are not the ones
/// the browser holds (a phase added or removed: it loads the page again).
#[server(endpoint = "plan_regions", input = leptos::server_fn::codec::GetUrl)]
pub async fn plan_regions(
    id: String,
    hours: Option<String>,
    have: String,
) -> Result<crate::pages::regions::Redraw, AppError> {
    crate::service::serve(async move |s, c| {
        let user = s.identity.current_user(&c).await?;
        let hours = hours.unwrap_or_default();
        let page = s.plans.page(&c, id, hours.parse().ok()).await?;
        let [head, timeline, rest] =
            crate::pages::plan::regions(page, &hours, user.as_ref(), Some(&have));
        Ok(head.into_redraw([timeline, rest]))
    })
    .await
}
