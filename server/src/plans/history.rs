//! A plan's history as the service reads it: the versions of its file
//! (`store::sources`) and its timeline (`view::timeline` draws it from the
//! audit trail and the guardrails' readings).
use crate::plans::file::sha256_hex;
use crate::plans::store::sources::{get, list};
use crate::plans::view::timeline::{build, nearest_bounds};
use crate::plans::PlanService;

/// The newest points of each line drawn.
const POINTS_PER_LINE: i64 = 1_000;
const MINUTE_MS: i64 = 60_000;

/// Events listed under the chart (the audit page has the rest).
const EVENTS_LISTED: usize = 50;

impl PlanService {
    /// The plan's file versions (`ReadPlans`), the current one marked.
    pub async fn source_versions(
        &self,
        caller: &app::service::Caller,
        plan_id: &str,
    ) -> Result<Vec<app::dto::plans::PlanSourceVersion>, app::error::AppError> {
        caller.require(app::access::Action::ReadPlans)?;
        let current = sha256_hex(&self.source_of(plan_id).await?);
        let mut conn = self.conn().await?;
        Ok(list(&mut conn, plan_id)
            .await?
            .into_iter()
            .map(|(sha256, first_at_ms)| app::dto::plans::PlanSourceVersion {
                current: sha256 == current,
                sha256,
                first_at_ms,
            })
            .collect())
    }

    /// One version of the plan's file (`ReadPlans`); not found names how to
    /// find the right one.
    pub async fn source_version(
        &self,
        caller: &app::service::Caller,
        plan_id: &str,
        sha256: &str,
    ) -> Result<String, app::error::AppError> {
        caller.require(app::access::Action::ReadPlans)?;
        let mut conn = self.conn().await?;
        get(&mut conn, plan_id, sha256).await?.ok_or_else(|| {
            crate::plans::error::PlanError::NotFound(format!(
                "plan file {sha256:?} of plan {plan_id:?} (give its SHA-256 from the audit trail, or 12 or more of its first hex digits; GET /api/v1/plans/{plan_id}/sources lists them)"
            ))
            .into()
        })
    }

    /// The plan's timeline over its last `hours` (1 to 2160; default its
    /// whole life), to the end of the current minute.
    pub(super) async fn timeline_view(
        &self,
        id: &str,
        created_at_ms: i64,
        hours: Option<i64>,
    ) -> Result<app::dto::plans::TimelineView, crate::plans::error::PlanError> {
        use crate::plans::error::PlanError;
        if let Some(h) = hours.filter(|h| !(1..=2160).contains(h)) {
            return Err(PlanError::Invalid(format!(
                "hours: {h} is outside 1..=2160 (90 days); leave it out for the whole plan"
            )));
        }
        // The chart ends at the end of the minute under way: between two
        // changes within a minute it stays the same picture, so a live
        // redraw after a tick or a decision sends none of it again
        // (`app::pages::regions`); an event, a reading or a change of
        // exposure redraws it at once.
        let now = self.clock.now_ms().div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS;
        let from = hours.map_or(created_at_ms, |h| now - h * 3_600_000);
        // Its newest events (`trail::PER_PLAN`; read once, then only the new).
        let all = self.trails.of(&self.store, id).await?;
        let events: Vec<&app::dto::audit::AuditEvent> = all
            .iter()
            .map(|e| e.as_ref())
            .filter(|e| e.at_ms <= now)
            .collect();
        let mut conn = self.store.pool().acquire().await?;
        // Only the lines it draws are read: the store says which guardrails
        // came nearest their bounds in the range.
        let peaks =
            crate::plans::guardrail::measurements::peaks(&mut conn, id, (from, now)).await?;
        let (drawn, hidden) = nearest_bounds(
            peaks
                .into_iter()
                .map(|(g, env, peak)| ((g, env), peak))
                .collect(),
        );
        let mut readings = Vec::new();
        for (g, env) in &drawn {
            readings.extend(
                crate::plans::guardrail::measurements::line(
                    &mut conn,
                    id,
                    (g.as_str(), env.as_str()),
                    (from, now),
                    POINTS_PER_LINE,
                )
                .await?,
            );
        }
        let mut timeline = build(events.iter().copied(), &readings, (from, now));
        timeline.hidden_guardrails += hidden.len();
        let events_in_range = events.iter().filter(|e| e.at_ms >= from).count();
        Ok(app::dto::plans::TimelineView {
            from_ms: from,
            to_ms: now,
            svg: crate::charts::timeline::timeline_svg(&timeline),
            events_in_range,
            events: events
                .into_iter()
                .rev()
                .filter(|e| e.at_ms >= from)
                .take(EVENTS_LISTED)
                .cloned()
                .collect(),
        })
    }
}
