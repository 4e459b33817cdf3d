//! The `flags` table: a plan's flag (enabled, exposure, allow and deny
//! lists, the bucketing salt). Every statement on it is here; plans and
//! evaluations call these.
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::StoreError;

#[derive(Debug, Clone)]
pub struct FlagRecord {
    pub key: String,
    pub enabled: bool,
    pub exposure_bp: i64,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub salt: String,
    pub updated_at_ms: i64,
}

/// A flag from a row; `updated` names its `updated_at_ms` column (aliased
/// where a join has two).
pub fn flag_from(row: &AnyRow, updated: &str) -> Result<FlagRecord, sqlx::Error> {
    let list = |col: &str| -> Result<Vec<String>, sqlx::Error> {
        let text: String = row.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
            index: col.to_string(),
            source: e.to_string().into(),
        })
    };
    Ok(FlagRecord {
        key: row.try_get("key")?,
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        exposure_bp: row.try_get("exposure_bp")?,
        allow: list("allow_list")?,
        deny: list("deny_list")?,
        salt: row.try_get("salt")?,
        updated_at_ms: row.try_get(updated)?,
    })
}

/// The flag with this key, if a plan owns one.
pub async fn by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<FlagRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM flags WHERE key = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .as_ref()
        .map(|r| flag_from(r, "updated_at_ms"))
        .transpose()?)
}

/// The plan that owns the flag `key`, if any.
pub async fn owner(conn: &mut AnyConnection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT plan_id FROM flags WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The flag plan `plan_id` owns (every plan has one).
pub async fn of_plan(conn: &mut AnyConnection, plan_id: &str) -> Result<FlagRecord, StoreError> {
    let row = sqlx::query("SELECT * FROM flags WHERE plan_id = $1")
        .bind(plan_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(flag_from(&row, "updated_at_ms")?)
}

/// Every plan's flag, by plan id (for the plans list).
pub async fn by_plan(
    conn: &mut AnyConnection,
) -> Result<std::collections::HashMap<String, FlagRecord>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for row in sqlx::query("SELECT * FROM flags")
        .fetch_all(&mut *conn)
        .await?
    {
        out.insert(row.try_get("plan_id")?, flag_from(&row, "updated_at_ms")?);
    }
    Ok(out)
}

/// A new plan's flag: off, at 0 %, with its own salt.
pub async fn insert(
    conn: &mut AnyConnection,
    key: &str,
    plan_id: &str,
    salt: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO flags (key, plan_id, enabled, exposure_bp, allow_list, deny_list, salt, \
         updated_at_ms) VALUES ($1, $2, 0, 0, '[]', '[]', $3, $4)",
    )
    .bind(key)
    .bind(plan_id)
    .bind(salt)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The plan's flag takes a new key (a plan edit renamed it).
pub async fn rename(conn: &mut AnyConnection, plan_id: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE flags SET key = $2 WHERE plan_id = $1")
        .bind(plan_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn save(conn: &mut AnyConnection, flag: &FlagRecord, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE flags SET enabled = $2, exposure_bp = $3, allow_list = $4, deny_list = $5, \
         updated_at_ms = $6 WHERE key = $1",
    )
    .bind(&flag.key)
    .bind(i64::from(flag.enabled))
    .bind(flag.exposure_bp)
    .bind(serde_json::to_string(&flag.allow).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&flag.deny).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
