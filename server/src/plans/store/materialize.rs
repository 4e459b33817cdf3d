//! Writing a plan's definition into phase and checklist rows: a new plan, and
//! an edit of an existing one, which keeps the run-time state of what it does
//! not change and refuses to rewrite history.
use app::dto::plans::{PhaseStatus, PlanStatus};
use sqlx::AnyConnection;

use crate::db::StoreError;
use crate::plans::file::definition::{ItemDef, PhaseDef, PlanDef};
use crate::plans::store::{roles_to_text, ItemRecord, Loaded, PhaseRecord};

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Inserts a new draft plan, its phases, checklist and flag (off, 0 %).
pub async fn insert_plan(
    conn: &mut AnyConnection,
    id: &str,
    def: &PlanDef,
    source: &str,
    created_by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plans (id, name, description, flag_key, status, source_toml, revision, \
         created_by, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, 'draft', $5, 1, $6, $7, $7)",
    )
    .bind(id)
    .bind(&def.name)
    .bind(&def.description)
    .bind(&def.flag_key)
    .bind(source)
    .bind(created_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    crate::flags::store::insert(conn, (&def.flag_key, &def.flag), id, &new_id(), now).await?;
    for (i, phase) in def.phases.iter().enumerate() {
        insert_phase(conn, id, i as i64, phase).await?;
    }
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a phase's configuration in the column order both the insert and
/// the update name it.
fn bind_config<'q>(q: AnyQuery<'q>, p: &'q PhaseDef) -> AnyQuery<'q> {
    q.bind(&p.name)
        .bind(&p.environment)
        .bind(p.exposure_bp)
        .bind(&p.notes)
        .bind(p.approvals_required)
        .bind(roles_to_text(&p.approver_roles))
        .bind(p.soak_ms)
        .bind(p.approvers.join("\n"))
        .bind(i64::from(p.signed))
}

/// Binds an item's definition in the insert's column order.
fn bind_item<'q>(q: AnyQuery<'q>, item: &'q ItemDef) -> AnyQuery<'q> {
    q.bind(i64::from(item.entry))
        .bind(item.kind.as_str())
        .bind(&item.text)
        .bind(roles_to_text(&item.tickers))
        .bind(&item.check_name)
        .bind(item.max_delta)
        .bind(&item.job)
        .bind(item.max_age_ms)
}

async fn insert_phase(
    conn: &mut AnyConnection,
    plan_id: &str,
    position: i64,
    p: &PhaseDef,
) -> Result<(), sqlx::Error> {
    let phase_id = new_id();
    let insert = sqlx::query(
        "INSERT INTO phases (id, plan_id, position, name, environment, exposure_bp, notes, \
         approvals_required, approver_roles, soak_ms, approvers, signed, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending')",
    )
    .bind(&phase_id)
    .bind(plan_id)
    .bind(position);
    bind_config(insert, p).execute(&mut *conn).await?;
    for (j, item) in p.items.iter().enumerate() {
        insert_item(conn, &phase_id, j as i64, item).await?;
    }
    Ok(())
}

async fn insert_item(
    conn: &mut AnyConnection,
    phase_id: &str,
    position: i64,
    item: &ItemDef,
) -> Result<(), sqlx::Error> {
    let insert = sqlx::query(
        "INSERT INTO checklist_items (id, phase_id, position, entry, kind, text, tickers, \
         check_name, max_delta, job, max_age_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(new_id())
    .bind(phase_id)
    .bind(position);
    bind_item(insert, item).execute(&mut *conn).await?;
    Ok(())
}

/// Brings a phase's checklist to `new.items`. An item kept as it was keeps
/// its row and its tick, wherever it moves; a changed item is a new,
/// unticked one; a removed item goes.
async fn reconcile_items(
    conn: &mut AnyConnection,
    row: &PhaseRecord,
    new: &PhaseDef,
    changes: &mut Vec<String>,
) -> Result<(), sqlx::Error> {
    let mut unused: Vec<&ItemRecord> = row.items.iter().collect();
    let kept: Vec<Option<&ItemRecord>> = new
        .items
        .iter()
        .map(|item| {
            let k = unused.iter().position(|e| e.def == *item)?;
            Some(unused.remove(k))
        })
        .collect();
    for gone in &unused {
        let changed = new
            .items
            .iter()
            .zip(&kept)
            .any(|(item, k)| k.is_none() && item.text == gone.def.text);
        let verb = if changed { "changed" } else { "removed" };
        changes.push(format!(
            "{verb} item {:?} of phase {:?}",
            gone.def.text, new.name
        ));
        sqlx::query("DELETE FROM checklist_items WHERE id = $1")
            .bind(&gone.id)
            .execute(&mut *conn)
            .await?;
    }
    // Positions are unique per phase: kept rows step aside (to -1-j), the
    // new rows go in, then the kept rows take their places.
    let kept_at: Vec<(&ItemRecord, i64)> = kept
        .iter()
        .enumerate()
        .filter_map(|(j, k)| k.map(|e| (e, j as i64)))
        .collect();
    for (e, j) in &kept_at {
        set_position(conn, &e.id, -1 - j).await?;
    }
    insert_new(conn, row, new, &kept, &unused, changes).await?;
    for (e, j) in &kept_at {
        set_position(conn, &e.id, *j).await?;
    }
    Ok(())
}

async fn set_position(
    conn: &mut AnyConnection,
    id: &str,
    position: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE checklist_items SET position = $2 WHERE id = $1")
        .bind(id)
        .bind(position)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Inserts the items of `new` that no kept row stands for.
async fn insert_new(
    conn: &mut AnyConnection,
    row: &PhaseRecord,
    new: &PhaseDef,
    kept: &[Option<&ItemRecord>],
    gone: &[&ItemRecord],
    changes: &mut Vec<String>,
) -> Result<(), sqlx::Error> {
    for (j, item) in new
        .items
        .iter()
        .enumerate()
        .filter(|(j, _)| kept[*j].is_none())
    {
        if !gone.iter().any(|g| g.def.text == item.text) {
            changes.push(format!(
                "added item {:?} to phase {:?}",
                item.text, new.name
            ));
        }
        insert_item(conn, &row.id, j as i64, item).await?;
    }
    Ok(())
}

/// The phase's configuration (everything but its checklist) is as defined.
fn same_config(row: &PhaseRecord, def: &PhaseDef) -> bool {
    row.name == def.name
        && row.environment == def.environment
        && row.exposure_bp == def.exposure_bp
        && row.notes == def.notes
        && row.approvals_required == def.approvals_required
        && row.approver_roles == def.approver_roles
        && row.approvers == def.approvers
        && row.signed == def.signed
        && row.soak_ms == def.soak_ms
}

/// Why an edit cannot apply to the plan as it stands (history is fixed).
pub fn edit_refusal(l: &Loaded, def: &PlanDef) -> Option<String> {
    if l.plan.status.is_final() {
        return Some(format!(
            "the plan is {}, which is final; its definition can no longer change",
            l.plan.status
        ));
    }
    if l.plan.status != PlanStatus::Draft && def.flag_key != l.plan.flag_key {
        return Some(format!(
            "plan.flag: the flag key is fixed once the plan is active (it is {:?})",
            l.plan.flag_key
        ));
    }
    if l.plan.status != PlanStatus::Draft && def.flag != l.flag.values {
        return Some(format!(
            "flag: what the flag serves is fixed once the plan is active (it is {}); \
             applications already read these values",
            l.flag.values.describe()
        ));
    }
    let started = l
        .phases
        .iter()
        .filter(|p| p.status != PhaseStatus::Pending)
        .count();
    if def.phases.len() < started {
        return Some(format!(
            "phases: {started} phases have started; an edit cannot remove them"
        ));
    }
    if let Some(kept) = l
        .phases
        .iter()
        .skip(def.phases.len())
        .find(|p| !p.decisions.is_empty())
    {
        return Some(format!(
            "phases: phase {:?} has gate decisions on record; it cannot be removed",
            kept.name
        ));
    }
    for (row, new) in l.phases.iter().zip(&def.phases) {
        if row.status.is_current() && new.environment != row.environment {
            return Some(format!(
                "phases[{}].environment: phase {:?} is running in {}; it cannot move",
                row.position, row.name, row.environment
            ));
        }
        if row.status.is_current() && new.exposure_bp > row.exposure_bp {
            return Some(format!(
                "phases[{}].exposure_bp: phase {:?} is running; an edit can lower its exposure \
                 but not raise it (add a phase with the higher exposure and start it)",
                row.position, row.name
            ));
        }
        if row.status != PhaseStatus::Pending && !row.name.eq_ignore_ascii_case(&new.name) {
            return Some(format!(
                "phases[{}].name: phase {:?} has started; it cannot be renamed, removed or moved",
                row.position, row.name
            ));
        }
        if row.status == PhaseStatus::Done && !same_config(row, new) {
            return Some(format!(
                "phases[{}]: phase {:?} is done; its configuration is history",
                row.position, row.name
            ));
        }
        if row.status == PhaseStatus::Done
            && (row.items.len() != new.items.len()
                || row.items.iter().zip(&new.items).any(|(r, d)| r.def != *d))
        {
            return Some(format!(
                "phases[{}].checklist: phase {:?} is done; its checklist is history",
                row.position, row.name
            ));
        }
    }
    None
}

/// Applies an edit `edit_refusal` allowed: updates the plan row and the
/// phases in place (by position), keeping ticks of unchanged items; adds and
/// removes pending phases and items. Returns a line per change.
pub async fn apply_edit(
    conn: &mut AnyConnection,
    l: &Loaded,
    def: &PlanDef,
    source: &str,
) -> Result<Vec<String>, StoreError> {
    let mut changes = Vec::new();
    if def.name != l.plan.name {
        changes.push(format!("renamed {:?} → {:?}", l.plan.name, def.name));
    }
    if def.flag_key != l.plan.flag_key {
        changes.push(format!("flag {:?} → {:?}", l.plan.flag_key, def.flag_key));
        crate::flags::store::rename(conn, &l.plan.id, &def.flag_key).await?;
    }
    if def.flag != l.flag.values {
        changes.push(format!(
            "flag serves {} → {}",
            l.flag.values.describe(),
            def.flag.describe()
        ));
        crate::flags::store::set_values(conn, &l.plan.id, &def.flag).await?;
    }
    sqlx::query(
        "UPDATE plans SET name = $2, description = $3, flag_key = $4, source_toml = $5 WHERE id = $1",
    )
    .bind(&l.plan.id)
    .bind(&def.name)
    .bind(&def.description)
    .bind(&def.flag_key)
    .bind(source)
    .execute(&mut *conn)
    .await?;
    for (i, new) in def.phases.iter().enumerate() {
        let Some(row) = l.phases.get(i) else {
            insert_phase(conn, &l.plan.id, i as i64, new).await?;
            changes.push(format!("added phase {:?}", new.name));
            continue;
        };
        if !same_config(row, new) {
            changes.push(format!("changed phase {:?}", new.name));
            let update = sqlx::query(
                "UPDATE phases SET name = $2, environment = $3, exposure_bp = $4, notes = $5, \
                 approvals_required = $6, approver_roles = $7, soak_ms = $8, approvers = $9, signed = $10 \
                 WHERE id = $1",
            )
            .bind(&row.id);
            bind_config(update, new).execute(&mut *conn).await?;
        }
        reconcile_items(conn, row, new, &mut changes).await?;
    }
    for extra in l.phases.iter().skip(def.phases.len()) {
        // Only pending phases get here (edit_refusal): no decisions, no ticks.
        changes.push(format!("removed phase {:?}", extra.name));
        sqlx::query("DELETE FROM checklist_items WHERE phase_id = $1")
            .bind(&extra.id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM phases WHERE id = $1")
            .bind(&extra.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(changes)
}
