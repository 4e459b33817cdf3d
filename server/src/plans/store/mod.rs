//! The plan tables: loading a plan with its phases, checklist, decisions and
//! flag, and the writes the plan service makes inside its transactions.
pub mod change_requests;
pub mod incidents;
pub mod materialize;
mod rows;
pub mod sources;
use app::access::Role;
use app::dto::plans::{ItemKind, PhaseStatus, PlanStatus, Verdict};
use app::dto::StoreBackend;
use sqlx::AnyConnection;

use crate::db::StoreError;
use crate::flags::store as flags;
pub use crate::flags::store::FlagRecord;
use crate::plans::file::definition::ItemDef;
use rows::OfPhase;
use sqlx::FromRow;

#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub flag_key: String,
    pub status: PlanStatus,
    pub source_toml: String,
    pub revision: i64,
    pub created_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct PhaseRecord {
    pub id: String,
    pub position: i64,
    pub name: String,
    pub environment: String,
    pub exposure_bp: i64,
    pub notes: String,
    pub approvals_required: i64,
    /// Roles whose holders may approve the gate.
    pub approver_roles: Vec<Role>,
    /// The people the gate asks (empty: every holder of the roles).
    pub approvers: Vec<String>,
    /// Decisions must be signed with a passkey.
    pub signed: bool,
    pub soak_ms: i64,
    pub status: PhaseStatus,
    pub started_at_ms: Option<i64>,
    /// Who asked for approval: a person's id, or a token's creator's.
    pub requested_by: Option<String>,
    pub requested_by_name: Option<String>,
    pub requested_at_ms: Option<i64>,
    pub approved_at_ms: Option<i64>,
    pub done_at_ms: Option<i64>,
    pub items: Vec<ItemRecord>,
    pub decisions: Vec<DecisionRecord>,
}

impl PhaseRecord {
    /// Forgets the request for approval and any approval: the gate is to be
    /// asked for again.
    pub fn clear_approval(&mut self) {
        self.requested_by = None;
        self.requested_by_name = None;
        self.requested_at_ms = None;
        self.approved_at_ms = None;
    }

    /// The texts of the phase's checklist items a person has still to tick.
    pub fn unticked(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| !i.def.entry && i.def.kind == ItemKind::Manual && i.ticked_at_ms.is_none())
            .map(|i| i.def.text.as_str())
            .collect()
    }
}

#[cfg(test)]
impl PhaseRecord {
    /// A production pilot awaiting two approvers' decisions, for unit tests.
    pub fn fixture() -> PhaseRecord {
        PhaseRecord {
            id: "p".into(),
            position: 1,
            name: "pilot".into(),
            environment: "production".into(),
            exposure_bp: 100,
            notes: String::new(),
            approvals_required: 2,
            approver_roles: vec![Role::Approver],
            approvers: Vec::new(),
            signed: false,
            soak_ms: 0,
            status: PhaseStatus::AwaitingApproval,
            started_at_ms: Some(1),
            requested_by: None,
            requested_by_name: None,
            requested_at_ms: None,
            approved_at_ms: None,
            done_at_ms: None,
            items: Vec::new(),
            decisions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ItemRecord {
    pub id: String,
    pub position: i64,
    /// The item as the plan file defines it.
    pub def: ItemDef,
    pub ticked_by: Option<String>,
    pub ticked_by_name: Option<String>,
    pub ticked_at_ms: Option<i64>,
    pub tick_comment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DecisionRecord {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub verdict: Verdict,
    pub comment: String,
    pub evidence_hash: String,
    pub created_at_ms: i64,
    pub dismissed_at_ms: Option<i64>,
    pub dismissed_reason: Option<String>,
    /// What it was made on (`evidence::snapshot`, as JSON).
    pub evidence_json: Option<String>,
}

impl DecisionRecord {
    /// A new, live decision by `(user_id, username)` on the evidence `hash`.
    pub fn new(
        (user_id, username): (String, String),
        verdict: Verdict,
        comment: String,
        hash: String,
        now: i64,
    ) -> DecisionRecord {
        DecisionRecord {
            id: uuid::Uuid::new_v4().simple().to_string(),
            user_id,
            username,
            verdict,
            comment,
            evidence_hash: hash,
            created_at_ms: now,
            dismissed_at_ms: None,
            dismissed_reason: None,
            evidence_json: None,
        }
    }

    pub fn live(&self) -> bool {
        self.dismissed_at_ms.is_none()
    }
}

/// A plan and everything under it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub plan: PlanRecord,
    pub phases: Vec<PhaseRecord>,
    pub flag: FlagRecord,
}

impl Loaded {
    pub fn phase(&self, id: &str) -> Option<&PhaseRecord> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// The phase that is started and not handed over yet.
    pub fn current(&self) -> Option<&PhaseRecord> {
        self.phases.iter().rev().find(|p| p.status.is_current())
    }
}

pub fn roles_to_text(roles: &[Role]) -> String {
    Role::join(roles, ",")
}

pub fn roles_from_text(text: &str) -> Vec<Role> {
    text.split(',')
        .filter_map(|r| Role::parse(r).ok())
        .collect()
}

const PLAN_COLUMNS: &str = "id, name, description, flag_key, status, source_toml, revision, \
     created_by, created_at_ms, updated_at_ms";

/// Loads a plan; with `lock` on PostgreSQL its row is locked for the rest of
/// the transaction, which serializes writers of one plan (SQLite's write
/// transactions are serialized already).
pub async fn load(
    conn: &mut AnyConnection,
    backend: StoreBackend,
    id: &str,
    lock: bool,
) -> Result<Option<Loaded>, StoreError> {
    let lock_clause = if lock && backend == StoreBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1{lock_clause}");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let plan = PlanRecord::from_row(&row)?;
    let flag = flags::of_plan(conn, id).await?;
    let mut phases: Vec<PhaseRecord> =
        sqlx::query_as("SELECT * FROM phases WHERE plan_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let items: Vec<OfPhase<ItemRecord>> = sqlx::query_as(
        "SELECT c.* FROM checklist_items c JOIN phases p ON p.id = c.phase_id \
         WHERE p.plan_id = $1 ORDER BY c.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for OfPhase(phase_id, item) in items {
        if let Some(p) = phases.iter_mut().find(|p| p.id == phase_id) {
            p.items.push(item);
        }
    }
    let decisions: Vec<OfPhase<DecisionRecord>> = sqlx::query_as(
        "SELECT a.* FROM approvals a JOIN phases p ON p.id = a.phase_id \
         WHERE p.plan_id = $1 ORDER BY a.created_at_ms, a.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for OfPhase(phase_id, decision) in decisions {
        if let Some(p) = phases.iter_mut().find(|p| p.id == phase_id) {
            p.decisions.push(decision);
        }
    }
    Ok(Some(Loaded { plan, phases, flag }))
}

/// How far a plan has got: the phase under way (the last one started and
/// not handed over), and how many of its phases are done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub current: Option<String>,
    pub done: i64,
    pub total: i64,
}

impl Progress {
    pub fn of(phases: &[PhaseRecord]) -> Progress {
        Progress {
            current: phases
                .iter()
                .rev()
                .find(|p| p.status.is_current())
                .map(|p| p.name.clone()),
            done: phases
                .iter()
                .filter(|p| p.status == PhaseStatus::Done)
                .count() as i64,
            total: phases.len() as i64,
        }
    }
}

/// Every plan with its flag and progress, newest change first (for the list
/// page): five small queries whatever the number of plans. Only what a list
/// line shows is read (the plan file, description and author are left
/// empty).
pub async fn list(
    conn: &mut AnyConnection,
) -> Result<Vec<(PlanRecord, FlagRecord, Progress)>, StoreError> {
    let columns = PLAN_COLUMNS
        .replace("source_toml", "'' AS source_toml")
        .replace("description", "'' AS description")
        .replace("created_by", "'' AS created_by");
    let sql = format!("SELECT {columns} FROM plans ORDER BY updated_at_ms DESC, id");
    let mut flags = flags::by_plan(conn).await?;
    let mut out = Vec::new();
    let mut index = std::collections::HashMap::new();
    let plans: Vec<PlanRecord> = sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
    for plan in plans {
        // Every plan has its flag (created in the plan's own transaction).
        let Some(flag) = flags.remove(&plan.id) else {
            continue;
        };
        index.insert(plan.id.clone(), out.len());
        out.push((plan, flag, Progress::default()));
    }
    let counts: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT plan_id, COUNT(*), SUM(CASE WHEN status = $1 THEN 1 ELSE 0 END) \
         FROM phases GROUP BY plan_id",
    )
    .bind(PhaseStatus::Done.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for (plan_id, total, done) in counts {
        if let Some(&i) = index.get(&plan_id) {
            out[i].2.total = total;
            out[i].2.done = done;
        }
    }
    // The phases under way (one a plan, or a few); the last one counts.
    let current: Vec<(String, String)> = sqlx::query_as(
        "SELECT plan_id, name FROM phases WHERE status IN ($1, $2, $3) ORDER BY plan_id, position",
    )
    .bind(PhaseStatus::Active.as_str())
    .bind(PhaseStatus::AwaitingApproval.as_str())
    .bind(PhaseStatus::Approved.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for (plan_id, name) in current {
        if let Some(&i) = index.get(&plan_id) {
            out[i].2.current = Some(name);
        }
    }
    Ok(out)
}

/// The phases awaiting approval in active plans, each with its plan's id and
/// name and its decisions, the plans newest change first: two queries
/// whatever the number of plans (the dashboard's "waiting for you").
pub async fn awaiting_approval(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String, PhaseRecord)>, StoreError> {
    let rows = sqlx::query(
        "SELECT pl.name AS plan_name, ph.* FROM phases ph JOIN plans pl ON pl.id = ph.plan_id \
         WHERE pl.status = $1 AND ph.status = $2 ORDER BY pl.updated_at_ms DESC, pl.id, ph.position",
    )
    .bind(PlanStatus::Active.as_str())
    .bind(PhaseStatus::AwaitingApproval.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut phases = Vec::with_capacity(rows.len());
    for row in &rows {
        phases.push((
            sqlx::Row::try_get(row, "plan_id")?,
            sqlx::Row::try_get(row, "plan_name")?,
            PhaseRecord::from_row(row)?,
        ));
    }
    let decisions: Vec<OfPhase<DecisionRecord>> = sqlx::query_as(
        "SELECT a.* FROM approvals a JOIN phases ph ON ph.id = a.phase_id \
         JOIN plans pl ON pl.id = ph.plan_id WHERE pl.status = $1 AND ph.status = $2 \
         ORDER BY a.created_at_ms, a.id",
    )
    .bind(PlanStatus::Active.as_str())
    .bind(PhaseStatus::AwaitingApproval.as_str())
    .fetch_all(&mut *conn)
    .await?;
    for OfPhase(phase_id, decision) in decisions {
        if let Some((_, _, p)) = phases.iter_mut().find(|(_, _, p)| p.id == phase_id) {
            p.decisions.push(decision);
        }
    }
    Ok(phases)
}

/// The plan's revision and last change, `None` when there is no such plan:
/// with its readings' and runs' newest times, what says whether a view drawn
/// before is still true (`plans::pages`).
pub async fn revision(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT revision, updated_at_ms FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// How many plans there are, their newest change and the sum of their
/// revisions: what says whether a list of them drawn before is still true
/// (every command and edit bumps its plan's revision; `plans::pages`).
pub async fn list_stamp(conn: &mut AnyConnection) -> Result<(i64, i64, i64), StoreError> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), COALESCE(MAX(updated_at_ms), 0), \
         CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM plans",
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// `id` itself when a plan has that id.
pub async fn plan_id(conn: &mut AnyConnection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM plans WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A plan's status, `None` when there is no such plan.
pub async fn status(conn: &mut AnyConnection, id: &str) -> Result<Option<PlanStatus>, StoreError> {
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM plans WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(status.map(|s| rows::plan_status(&s)).transpose()?)
}

/// A plan's name (what notifications call it).
pub async fn name_of(conn: &mut AnyConnection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT name FROM plans WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A plan's file and name (what the job manager finds its jobs in).
pub async fn source_and_name(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT source_toml, name FROM plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn plan_id_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM plans WHERE lower(name) = lower($1)")
            .bind(name.trim())
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Marks the plan changed: bumps its revision.
pub async fn touch(conn: &mut AnyConnection, plan_id: &str, now: i64) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE plans SET revision = revision + 1, updated_at_ms = $2 WHERE id = $1 RETURNING revision",
    )
    .bind(plan_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn set_plan_status(
    conn: &mut AnyConnection,
    plan_id: &str,
    status: PlanStatus,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE plans SET status = $2 WHERE id = $1")
        .bind(plan_id)
        .bind(status.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes a phase's run-time state (status and its timestamps).
pub async fn save_phase_state(conn: &mut AnyConnection, p: &PhaseRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE phases SET status = $2, started_at_ms = $3, requested_by = $4, \
         requested_by_name = $5, requested_at_ms = $6, approved_at_ms = $7, done_at_ms = $8 \
         WHERE id = $1",
    )
    .bind(&p.id)
    .bind(p.status.as_str())
    .bind(p.started_at_ms)
    .bind(&p.requested_by)
    .bind(&p.requested_by_name)
    .bind(p.requested_at_ms)
    .bind(p.approved_at_ms)
    .bind(p.done_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn save_tick(conn: &mut AnyConnection, item: &ItemRecord) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE checklist_items SET ticked_by = $2, ticked_by_name = $3, ticked_at_ms = $4, \
         tick_comment = $5 WHERE id = $1",
    )
    .bind(&item.id)
    .bind(&item.ticked_by)
    .bind(&item.ticked_by_name)
    .bind(item.ticked_at_ms)
    .bind(&item.tick_comment)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert_decision(
    conn: &mut AnyConnection,
    phase_id: &str,
    d: &DecisionRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO approvals (id, phase_id, user_id, username, verdict, comment, \
         evidence_hash, created_at_ms, evidence_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&d.id)
    .bind(phase_id)
    .bind(&d.user_id)
    .bind(&d.username)
    .bind(d.verdict.as_str())
    .bind(&d.comment)
    .bind(&d.evidence_hash)
    .bind(d.created_at_ms)
    .bind(&d.evidence_json)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn dismiss_decision(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE approvals SET dismissed_at_ms = $2, dismissed_reason = $3 \
         WHERE id = $1 AND dismissed_at_ms IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
