//! Ticking and unticking checklist items.
use app::dto::plans::{ItemKind, PhaseStatus};
use serde_json::json;

use super::{forbidden, invalid, text, untick, wrong_state, Cx, Effect};
use crate::plans::error::PlanError;
use crate::plans::store;

pub(super) async fn tick(
    conn: &mut sqlx::AnyConnection,
    cx: Cx<'_>,
    (item_id, ticked, comment): (String, bool, String),
) -> Result<Effect, PlanError> {
    let (user_id, username, roles) = cx.person("tick a checklist item")?;
    let comment = text("comment", &comment, false)?;
    let (phase, item) =
        cx.l.phases
            .iter()
            .find_map(|p| p.items.iter().find(|it| it.id == item_id).map(|it| (p, it)))
            .ok_or_else(|| super::not_in_plan(format!("checklist item {item_id:?}")))?;
    if item.def.kind != ItemKind::Manual {
        return Err(invalid(format!(
            "{:?} is an automatic check; the server evaluates it",
            item.def.text
        )));
    }
    // Entry criteria are ticked before the phase starts (and are history
    // once it has); the checklist while it runs.
    if item.def.entry && phase.status != PhaseStatus::Pending {
        return Err(wrong_state(format!(
            "{:?} is an entry criterion of phase {:?}, which has started; it is part of its history",
            item.def.text, phase.name
        )));
    }
    if !item.def.entry && !phase.status.is_current() {
        return Err(wrong_state(format!(
            "phase {:?} is {}; its checklist can be ticked while it runs",
            phase.name, phase.status
        )));
    }
    if !roles.contains(&app::access::Role::Admin)
        && !roles.iter().any(|r| item.def.tickers.contains(r))
    {
        return Err(forbidden(format!(
            "tick {:?}: it may be ticked by {}",
            item.def.text,
            app::access::Role::join(&item.def.tickers, ", ")
        )));
    }
    if ticked == item.ticked_at_ms.is_some() {
        return Err(wrong_state(format!(
            "{:?} is already {}",
            item.def.text,
            if ticked { "ticked" } else { "unticked" }
        )));
    }
    let mut item = item.clone();
    if ticked {
        item.ticked_by = Some(user_id);
        item.ticked_by_name = Some(username);
        item.ticked_at_ms = Some(cx.now);
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
            json!({ "phase": phase.name, "item": item.def.text, "entry": item.def.entry, "comment": comment }),
        )],
        message: format!(
            "{} {:?}.",
            if ticked { "Ticked" } else { "Unticked" },
            item.def.text
        ),
        dismiss_reason: "the checklist evidence changed",
    })
}
