//! Ticking and unticking checklist items.
use app::access::Principal;
use app::dto::plans::{ItemKind, PhaseStatus};
use serde_json::json;

use super::{invalid, person, text, untick, Effect};
use crate::plans::error::PlanError;
use crate::plans::store::{self, Loaded};

pub(super) async fn tick(
    conn: &mut sqlx::AnyConnection,
    l: &Loaded,
    who: &Principal,
    now: i64,
    item_id: String,
    ticked: bool,
    comment: String,
) -> Result<Effect, PlanError> {
    let (user_id, username, roles) = person(who, "ticking a checklist item")?;
    let comment = text("comment", &comment, false)?;
    let (phase, item) = l
        .phases
        .iter()
        .find_map(|p| p.items.iter().find(|it| it.id == item_id).map(|it| (p, it)))
        .ok_or_else(|| PlanError::NotFound(format!("checklist item {item_id:?} of this plan")))?;
    if item.kind != ItemKind::Manual {
        return Err(invalid(format!(
            "{:?} is an automatic check; the server evaluates it",
            item.text
        )));
    }
    // Entry criteria are ticked before the phase starts (and are history
    // once it has); the checklist while it runs.
    if item.entry && phase.status != PhaseStatus::Pending {
        return Err(invalid(format!(
            "{:?} is an entry criterion of phase {:?}, which has started; it is part of its history",
            item.text, phase.name
        )));
    }
    if !item.entry && !phase.status.is_current() {
        return Err(invalid(format!(
            "phase {:?} is {}; its checklist can be ticked while it runs",
            phase.name, phase.status
        )));
    }
    if !roles.contains(&app::access::Role::Admin) && !roles.iter().any(|r| item.tickers.contains(r))
    {
        return Err(invalid(format!(
            "{:?} may be ticked by: {}",
            item.text,
            item.tickers
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if ticked == item.ticked_at_ms.is_some() {
        return Err(invalid(format!(
            "{:?} is already {}",
            item.text,
            if ticked { "ticked" } else { "unticked" }
        )));
    }
    let mut item = item.clone();
    if ticked {
        item.ticked_by = Some(user_id);
        item.ticked_by_name = Some(username);
        item.ticked_at_ms = Some(now);
        item.tick_comment = (!comment.is_empty()).then_some(comment.clone());
    } else {
        untick(&mut item);
    }
    store::save_tick(conn, &item).await?;
    Ok(Effect {
        events: vec![(
            if ticked {
                "checklist.tick"
            } else {
                "checklist.untick"
            },
            json!({ "phase": phase.name, "item": item.text, "entry": item.entry, "comment": comment }),
        )],
        message: format!(
            "{} {:?}.",
            if ticked { "Ticked" } else { "Unticked" },
            item.text
        ),
        dismiss_reason: "the checklist evidence changed",
    })
}
