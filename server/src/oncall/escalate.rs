//! Paging: each unacknowledged incident's due steps (the plan's escalation
//! as it stands), resolved to the people who can sign in, recorded with an
//! `incident.page` event per step in one transaction that stops at an
//! acknowledgement made meanwhile.
use serde_json::json;

use super::OnCall;
use crate::audit::{Actor, ClientInfo};
use crate::db::StoreError;
use crate::plans::file::spec::oncall::{pages, steps};
use crate::plans::store::incidents;

pub(super) async fn page_due(o: &OnCall) -> Result<(), StoreError> {
    let mut conn = o.store.pool().acquire().await?;
    let open = incidents::unacknowledged(&mut conn).await?;
    if open.is_empty() {
        return Ok(());
    }
    let now = o.clock.now_ms();
    let people = crate::auth::user_rows::enabled(&mut conn).await?;
    for i in open {
        let Some((source, _)) = crate::plans::store::source_and_name(&mut conn, &i.plan_id).await?
        else {
            continue;
        };
        let plan_steps = crate::plans::file::parsed::parsed(&source)
            .map(|f| steps(&f))
            .unwrap_or_default();
        let due: Vec<_> = plan_steps
            .iter()
            .enumerate()
            .skip(i.steps_paged as usize)
            .take_while(|(_, s)| i.opened_ms + s.after_ms <= now)
            .collect();
        if due.is_empty() {
            continue;
        }
        let mut paged = i.paged_people();
        let mut tx = o.store.begin_write().await?;
        let mut events = Vec::new();
        for (k, step) in &due {
            let named: Vec<String> = people
                .iter()
                .filter(|u| pages(&step.page, &u.username, &u.roles))
                .map(|u| u.username.clone())
                .collect();
            for n in &named {
                if !paged.contains(n) {
                    paged.push(n.clone());
                }
            }
            events.push(json!({
                "incident": i.id, "cause": i.seq, "summary": i.summary,
                "step": k + 1, "of": plan_steps.len(), "page": named, "asks": step.page,
            }));
        }
        let through = i.steps_paged + due.len() as i64;
        if !incidents::paged(&mut tx, &i, (through, &paged), now).await? {
            continue;
        }
        let subject = format!("plan:{}", i.plan_id);
        for details in events {
            crate::audit::append(
                &mut tx,
                now,
                &Actor::System,
                &ClientInfo::default(),
                "incident.page",
                &subject,
                details,
            )
            .await?;
        }
        crate::plans::store::touch(&mut tx, &i.plan_id, now).await?;
        tx.commit().await?;
        o.events.changed(&i.plan_id);
    }
    Ok(())
}
