//! Applying a plan file to a plan (an edit, or an approved change request),
//! and recording an edit that weakens a gate as a change request instead.
use serde_json::json;
use sqlx::AnyConnection;

use super::acting::Acting;
use super::error::PlanError;
use crate::plans::file::definition::PlanDef;
use crate::plans::file::sha256_hex;
use crate::plans::rules::weakening::Weakening;
use crate::plans::store::change_requests::{self, ChangeRecord};
use crate::plans::store::materialize::apply_edit;
use crate::plans::store::Loaded;

/// A change request that applies: which, who proposed it, and who let it
/// through (its approvers, or the admin who overrode it).
pub struct Applied<'a> {
    pub id: &'a str,
    pub author: &'a str,
    pub approved_by: Vec<String>,
}

/// Makes `source` the plan's definition, in `conn`'s transaction, with its
/// `plan.edit` event; a lower exposure of the running phase takes effect at
/// once in its environment (a higher one was refused). A pending change
/// request ends: `applied` when it is `change`, `superseded` otherwise. The
/// event of an applied change request names its author, not only the
/// person whose approval made it apply (its actor).
pub async fn apply_source(
    conn: &mut AnyConnection,
    l: &Loaded,
    def: &PlanDef,
    source: &str,
    acting: &Acting,
    now: i64,
    change: Option<&Applied<'_>>,
) -> Result<(), PlanError> {
    let changes = apply_edit(conn, l, def, source).await?;
    crate::plans::store::sources::keep(conn, &l.plan.id, source, now).await?;
    if let Some(current) = l.current() {
        let new_bp = def.phases[current.position as usize].exposure_bp;
        let mut state = l.flag.state(&current.environment);
        if new_bp < state.exposure_bp {
            state.exposure_bp = new_bp;
            state.set_by = current.name.clone();
            crate::flags::store::save_state(conn, &l.plan.id, &current.environment, &state, now)
                .await?;
        }
    }
    match change_requests::pending(conn, &l.plan.id).await? {
        Some(p) if change.is_some_and(|c| c.id == p.id) => {
            change_requests::close(conn, &p.id, "applied", now).await?
        }
        Some(p) => supersede(conn, l, acting, &p.id, "a later edit", now).await?,
        None => {}
    }
    let details = json!({
        "changes": changes,
        "diff": crate::plans::store::sources::diff(&l.plan.source_toml, source),
        "source_sha256": sha256_hex(source),
        "from_revision": l.plan.revision,
        "change_request": change.map(|c| c.id),
        "author": change.map(|c| c.author),
        "approved_by": change.map(|c| &c.approved_by),
    });
    acting
        .audit(conn, now, "plan.edit", &l.plan.id, details)
        .await?;
    Ok(())
}

/// Records the edit as a change request (replacing an older pending one),
/// with its `plan.change_request` event; the plan itself does not change.
pub async fn request_change(
    conn: &mut AnyConnection,
    l: &Loaded,
    acting: &Acting,
    source: &str,
    w: Weakening,
    now: i64,
) -> Result<(), PlanError> {
    if let Some(old) = change_requests::pending(conn, &l.plan.id).await? {
        supersede(conn, l, acting, &old.id, "a newer change request", now).await?;
    }
    let change = ChangeRecord {
        id: uuid::Uuid::new_v4().simple().to_string(),
        plan_id: l.plan.id.clone(),
        base_revision: l.plan.revision,
        source_toml: source.to_string(),
        weakens: w.sentences,
        approvals_required: w.approvals_required,
        approver_roles: w.approver_roles,
        author_id: crate::auth::tokens::answerable_id(conn, &acting.actor).await?,
        author_name: acting.actor.name().to_string(),
        created_at_ms: now,
        decisions: Vec::new(),
    };
    change_requests::insert(conn, &change).await?;
    crate::plans::store::sources::keep(conn, &l.plan.id, source, now).await?;
    let details = json!({
        "change": change.id,
        "weakens": change.weakens,
        "approvals_required": change.approvals_required,
        "approver_roles": crate::plans::store::roles_to_text(&change.approver_roles),
        "diff": crate::plans::store::sources::diff(&l.plan.source_toml, source),
        "source_sha256": sha256_hex(source),
        "from_revision": l.plan.revision,
    });
    acting
        .audit(conn, now, "plan.change_request", &l.plan.id, details)
        .await?;
    Ok(())
}

/// Ends a pending change request that `by` made moot, audited.
async fn supersede(
    conn: &mut AnyConnection,
    l: &Loaded,
    acting: &Acting,
    change_id: &str,
    by: &str,
    now: i64,
) -> Result<(), PlanError> {
    change_requests::close(conn, change_id, "superseded", now).await?;
    let details = json!({ "change": change_id, "by": by });
    acting
        .audit(conn, now, "plan.change_superseded", &l.plan.id, details)
        .await?;
    Ok(())
}
