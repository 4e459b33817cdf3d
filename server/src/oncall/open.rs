//! Incidents opened from the trail: the events that mean something went
//! wrong, read from where this reader stopped, each opening an incident
//! unless its plan already has one nobody acknowledged. The incident, its
//! `incident.open` event and the reader's new place commit together.
use app::dto::audit::AuditEvent;
use serde_json::{json, Value};

use super::OnCall;
use crate::audit::query::{oldest_first, AuditFilter};
use crate::audit::{cursor, Actor, ClientInfo};
use crate::db::StoreError;
use crate::plans::store::incidents::{self, IncidentRecord};

/// The trail reader's name (endpoint names cannot hold a `:`).
const READER: &str = ":incidents";
const BATCH: i64 = 500;

/// Whether `e` is something going wrong that people must answer.
fn opens(e: &AuditEvent, details: &Value) -> bool {
    let by_system = e.actor_kind == "system";
    match e.action.as_str() {
        "guardrail.action" => details.get("dry_run").and_then(Value::as_bool) != Some(true),
        "plan.rollback.standard" | "plan.rollback.emergency" | "plan.pause" | "plan.abort" => {
            by_system
        }
        "backfill.fail" => true,
        _ => false,
    }
}

pub(super) async fn open_new(o: &OnCall) -> Result<(), StoreError> {
    let mut conn = o.store.pool().acquire().await?;
    let Some(from) = cursor::get(&mut conn, READER).await? else {
        let head = crate::audit::query::head_seq(&o.store).await?;
        cursor::begin(&mut conn, READER, head).await?;
        return Ok(());
    };
    drop(conn);
    let events = oldest_first(&o.store, &AuditFilter::default(), from, BATCH).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(());
    };
    let mut tx = o.store.begin_write().await?;
    let now = o.clock.now_ms();
    let mut opened = Vec::new();
    for e in &events {
        let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
        let Some(plan_id) = e.subject.strip_prefix("plan:") else {
            continue;
        };
        if !opens(e, &details) {
            continue;
        }
        let open = incidents::newest_of(&mut tx, plan_id)
            .await?
            .is_some_and(|i| i.acked_ms.is_none());
        if open {
            continue;
        }
        let plan_name = crate::plans::store::name_of(&mut tx, plan_id).await?;
        let summary =
            crate::notify::message::summary(e, plan_name.as_deref().unwrap_or("a plan"), &details);
        let incident = IncidentRecord {
            id: incidents::new_id(),
            plan_id: plan_id.to_string(),
            seq: e.seq,
            action: e.action.clone(),
            environment: details
                .get("environment")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            summary,
            opened_ms: e.at_ms,
            steps_paged: 0,
            paged: String::new(),
            paged_ms: None,
            acked_by: None,
            acked_ms: None,
        };
        incidents::open(&mut tx, &incident).await?;
        let details = json!({
            "incident": incident.id, "cause": e.seq, "action": e.action,
            "environment": incident.environment, "summary": incident.summary,
        });
        crate::audit::append(
            &mut tx,
            now,
            &Actor::System,
            &ClientInfo::default(),
            "incident.open",
            &e.subject,
            details,
        )
        .await?;
        crate::plans::store::touch(&mut tx, plan_id, now).await?;
        opened.push(plan_id.to_string());
    }
    if cursor::advance(&mut tx, READER, (from, last)).await? {
        tx.commit().await?;
        for plan in opened {
            o.events.changed(&plan);
        }
    }
    Ok(())
}
