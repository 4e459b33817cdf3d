//! An incident as on-call sees it: who was paged, who is next and when
//! (from the plan's escalation as it stands), who acknowledged it.
use app::dto::plans::OnCallView;

use crate::plans::file::spec::oncall::Step;
use crate::plans::store::incidents::IncidentRecord;

pub fn oncall_view(i: &IncidentRecord, steps: &[Step]) -> OnCallView {
    let next = (i.acked_ms.is_none())
        .then(|| steps.get(i.steps_paged as usize))
        .flatten();
    OnCallView {
        id: i.id.clone(),
        opened_ms: i.opened_ms,
        seq: i.seq,
        action: i.action.clone(),
        environment: i.environment.clone(),
        summary: i.summary.clone(),
        steps_paged: i.steps_paged,
        steps_total: steps.len() as i64,
        paged: i.paged_people(),
        next_at_ms: next.map(|s| i.opened_ms + s.after_ms),
        next_page: next.map(|s| s.page.clone()).unwrap_or_default(),
        acked_by: i.acked_by.clone(),
        acked_ms: i.acked_ms,
    }
}
