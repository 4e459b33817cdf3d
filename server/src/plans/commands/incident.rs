//! Acknowledging an incident: a person answers it, and its escalation stops.
//! Whoever was paged may, and so may anyone who runs or approves rollouts;
//! audited with how long it waited.
use app::access::{roles_allow, Action};
use serde_json::json;

use super::{forbidden, not_in_plan, wrong_state, Cx, Effect};
use crate::plans::error::PlanError;
use crate::plans::store::incidents;

pub(super) async fn acknowledge(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    incident_id: String,
) -> Result<Effect, PlanError> {
    let (_, username, roles) = cx.person("acknowledge an incident")?;
    let incident = incidents::by_id(conn, incident_id.trim())
        .await?
        .filter(|i| i.plan_id == cx.l.plan.id)
        .ok_or_else(|| not_in_plan(format!("incident {incident_id:?}")))?;
    if let (Some(by), Some(_)) = (&incident.acked_by, incident.acked_ms) {
        return Err(wrong_state(format!(
            "incident already acknowledged by {by}"
        )));
    }
    let paged = incident
        .paged_people()
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&username));
    let answers =
        roles_allow(&roles, Action::WritePlans) || roles_allow(&roles, Action::ApproveGates);
    if !paged && !answers {
        return Err(forbidden(
            "acknowledge this incident: you were not paged, and only operators and approvers answer for others",
        ));
    }
    if !incidents::acknowledge(conn, &incident.id, &username, cx.now).await? {
        return Err(wrong_state("someone acknowledged the incident just now"));
    }
    let waited = cx.now - incident.opened_ms;
    Ok(Effect::one(
        "incident.ack",
        json!({
            "incident": incident.id,
            "cause": incident.seq,
            "summary": incident.summary,
            "steps_paged": incident.steps_paged,
            "waited_ms": waited,
        }),
        format!(
            "Incident acknowledged: its escalation stops ({} step(s) had paged).",
            incident.steps_paged
        ),
    ))
}
