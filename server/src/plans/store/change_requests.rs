//! The `plan_changes` and `plan_change_decisions` tables: edits that weaken
//! a gate, waiting for approval, and the decisions on them. Every statement
//! on them is here.
use app::access::Role;
use app::dto::plans::Verdict;
use sqlx::AnyConnection;

use crate::db::StoreError;
use crate::plans::store::roles_to_text;

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
