//! The `plan_changes` and `plan_change_decisions` tables: edits that weaken
//! a gate, waiting for approval, and the decisions on them. Every statement
//! on them is here.
use app::access::Role;
use app::dto::plans::Verdict;
use sqlx::AnyConnection;

use super::rows::{bad_value, OfChange};
use crate::db::StoreError;
use crate::plans::store::{roles_from_text, roles_to_text};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub id: String,
    pub plan_id: String,
    /// The plan's revision the edit was made on.
    pub base_revision: i64,
    /// The edited plan file, applied as a whole once approved.
    pub source_toml: String,
    /// What it weakens, one line per gate, as its approvers see it.
    pub weakens: Vec<String>,
    pub approvals_required: i64,
    pub approver_roles: Vec<Role>,
    pub author_id: String,
    pub author_name: String,
    pub created_at_ms: i64,
    pub decisions: Vec<ChangeDecision>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDecision {
    pub user_id: String,
    pub username: String,
    pub verdict: Verdict,
    pub comment: String,
    pub created_at_ms: i64,
}

impl ChangeRecord {
    pub fn approvals(&self) -> i64 {
        self.decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Approve)
            .count() as i64
    }
}

/// A change request without its decisions (read with their own query).
impl FromRow<'_, AnyRow> for ChangeRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let weakens: String = row.try_get("weakens")?;
        let roles: String = row.try_get("approver_roles")?;
        Ok(ChangeRecord {
            id: row.try_get("id")?,
            plan_id: row.try_get("plan_id")?,
            base_revision: row.try_get("base_revision")?,
            source_toml: row.try_get("source_toml")?,
            weakens: serde_json::from_str(&weakens)
                .map_err(|e| bad_value("weakens", e.to_string()))?,
            approvals_required: row.try_get("approvals_required")?,
            approver_roles: roles_from_text(&roles),
            author_id: row.try_get("author_id")?,
            author_name: row.try_get("author_name")?,
            created_at_ms: row.try_get("created_at_ms")?,
            decisions: Vec::new(),
        })
    }
}

impl FromRow<'_, AnyRow> for ChangeDecision {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let verdict: String = row.try_get("verdict")?;
        Ok(ChangeDecision {
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            verdict: Verdict::parse(&verdict).map_err(|e| bad_value("verdict", e))?,
            comment: row.try_get("comment")?,
            created_at_ms: row.try_get("created_at_ms")?,
        })
    }
}

/// The plan's pending change request, with its decisions.
pub async fn pending(
    conn: &mut AnyConnection,
    plan_id: &str,
) -> Result<Option<ChangeRecord>, StoreError> {
    let Some(mut change): Option<ChangeRecord> =
        sqlx::query_as("SELECT * FROM plan_changes WHERE plan_id = $1 AND status = 'pending'")
            .bind(plan_id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    change.decisions = sqlx::query_as(
        "SELECT user_id, username, verdict, comment, created_at_ms FROM plan_change_decisions \
         WHERE change_id = $1 ORDER BY created_at_ms, user_id",
    )
    .bind(&change.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(change))
}

/// The pending change requests of active plans with their decisions and
/// their plans' names, the plans newest change first: two queries whatever
/// the number of plans (the dashboard's "waiting for you").
pub async fn pending_in_active_plans(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, ChangeRecord)>, StoreError> {
    let rows = sqlx::query(
        "SELECT pl.name AS plan_name, c.* FROM plan_changes c JOIN plans pl ON pl.id = c.plan_id \
         WHERE c.status = 'pending' AND pl.status = $1 ORDER BY pl.updated_at_ms DESC, pl.id",
    )
    .bind(app::dto::plans::PlanStatus::Active.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut changes = Vec::with_capacity(rows.len());
    for row in &rows {
        changes.push((
            sqlx::Row::try_get(row, "plan_name")?,
            <ChangeRecord as sqlx::FromRow<_>>::from_row(row)?,
        ));
    }
    let decisions: Vec<OfChange<ChangeDecision>> = sqlx::query_as(
        "SELECT d.* FROM plan_change_decisions d JOIN plan_changes c ON c.id = d.change_id \
         WHERE c.status = 'pending' ORDER BY d.created_at_ms, d.user_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for OfChange(change_id, decision) in decisions {
        if let Some((_, c)) = changes.iter_mut().find(|(_, c)| c.id == change_id) {
            c.decisions.push(decision);
        }
    }
    Ok(changes)
}

/// The pending change request of every plan that has one: plan id → change id.
pub async fn pending_by_plan(
    conn: &mut AnyConnection,
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT plan_id, id FROM plan_changes WHERE status = 'pending'")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Records a new pending change request.
pub async fn insert(conn: &mut AnyConnection, c: &ChangeRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plan_changes (id, plan_id, base_revision, source_toml, weakens, \
         approvals_required, approver_roles, author_id, author_name, created_at_ms, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending')",
    )
    .bind(&c.id)
    .bind(&c.plan_id)
    .bind(c.base_revision)
    .bind(&c.source_toml)
    .bind(serde_json::to_string(&c.weakens).unwrap_or_else(|_| "[]".into()))
    .bind(c.approvals_required)
    .bind(roles_to_text(&c.approver_roles))
    .bind(&c.author_id)
    .bind(&c.author_name)
    .bind(c.created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert_decision(
    conn: &mut AnyConnection,
    change_id: &str,
    d: &ChangeDecision,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_change_decisions (change_id, user_id, username, verdict, comment, \
         created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(change_id)
    .bind(&d.user_id)
    .bind(&d.username)
    .bind(d.verdict.as_str())
    .bind(&d.comment)
    .bind(d.created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends the plan's pending change request as `status` (applied, rejected,
/// withdrawn, superseded).
pub async fn close(
    conn: &mut AnyConnection,
    change_id: &str,
    status: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE plan_changes SET status = $2, closed_at_ms = $3 WHERE id = $1 AND status = 'pending'",
    )
    .bind(change_id)
    .bind(status)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
