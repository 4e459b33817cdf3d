//! The `flags` and `flag_states` tables: a plan's flag (its key and bucketing
//! salt) and its state in each environment (enabled, exposure, allow and deny
//! lists). An environment without a state row is off. Every statement on
//! them is here; plans and evaluations call these.
use std::collections::{BTreeMap, HashMap};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::values::{FlagValues, ValueType};
use crate::db::StoreError;

/// A flag's state in one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvState {
    pub enabled: bool,
    pub exposure_bp: i64,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// 0 for an environment never set.
    pub updated_at_ms: i64,
    /// What set it last (a phase's name, a rollback, an allow-list change);
    /// empty for an environment never set or a state from before.
    pub set_by: String,
}

impl EnvState {
    /// Entities its allow list turns on now (none while the kill switch is off).
    pub fn allowed(&self) -> usize {
        if self.enabled {
            self.allow.len()
        } else {
            0
        }
    }

    /// The share of entities that evaluate on (the kill switch counted).
    pub fn effective_bp(&self) -> i64 {
        if self.enabled {
            self.exposure_bp
        } else {
            0
        }
    }
}

#[derive(Debug, Clone)]
pub struct FlagRecord {
    pub key: String,
    pub salt: String,
    /// What it serves on and off.
    pub values: FlagValues,
    /// By environment; a missing one is off (`EnvState::default()`).
    pub states: BTreeMap<String, EnvState>,
}

impl FlagRecord {
    /// The state in `environment`. One the plan has not reached yet is off,
    /// and every entity denied anywhere is denied there too: an
    /// organisation rolled back alone stays off wherever the plan goes next
    /// (a store from before environments kept its deny list in one).
    pub fn state(&self, environment: &str) -> EnvState {
        self.states
            .get(environment)
            .cloned()
            .unwrap_or_else(|| self.unreached())
    }

    /// The state of an environment the plan has not reached: off, with
    /// every entity denied anywhere denied.
    pub fn unreached(&self) -> EnvState {
        let mut deny: Vec<String> = self
            .states
            .values()
            .flat_map(|s| s.deny.iter().cloned())
            .collect();
        deny.sort();
        deny.dedup();
        EnvState {
            deny,
            ..EnvState::default()
        }
    }
}

fn state_from(row: &AnyRow) -> Result<EnvState, sqlx::Error> {
    let list = |col: &str| -> Result<Vec<String>, sqlx::Error> {
        let text: String = row.try_get(col)?;
        serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
            index: col.to_string(),
            source: e.to_string().into(),
        })
    };
    Ok(EnvState {
        enabled: row.try_get::<i64, _>("enabled")? == 1,
        exposure_bp: row.try_get("exposure_bp")?,
        allow: list("allow_list")?,
        deny: list("deny_list")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        set_by: row.try_get("set_by")?,
    })
}

fn values_from(row: &AnyRow) -> Result<FlagValues, sqlx::Error> {
    let decode = |col: &str, e: String| sqlx::Error::ColumnDecode {
        index: col.to_string(),
        source: e.into(),
    };
    // A value that does not read is null: that flag's evaluations fail
    // (OFREP: GENERAL), not every flag's.
    let json = |col: &str| -> Result<serde_json::Value, sqlx::Error> {
        let text: String = row.try_get(col)?;
        Ok(serde_json::from_str(&text).unwrap_or_default())
    };
    let kind: String = row.try_get("value_type")?;
    Ok(FlagValues {
        value_type: ValueType::parse(&kind)
            .ok_or_else(|| decode("value_type", format!("{kind:?} is no flag type")))?,
        on: json("on_value")?,
        off: json("off_value")?,
        on_variant: row.try_get("on_variant")?,
        off_variant: row.try_get("off_variant")?,
    })
}

/// The flags of the plans `where_plan` selects (`$1` bound to `arg`, or
/// every plan), by plan id.
async fn load(
    conn: &mut AnyConnection,
    where_plan: &str,
    arg: Option<&str>,
) -> Result<HashMap<String, FlagRecord>, StoreError> {
    let mut flags = HashMap::new();
    let sql = format!(
        "SELECT plan_id, key, salt, value_type, on_value, off_value, on_variant, off_variant \
         FROM flags{where_plan}"
    );
    let mut q = sqlx::query(&sql);
    if let Some(a) = arg {
        q = q.bind(a);
    }
    for row in q.fetch_all(&mut *conn).await? {
        let record = FlagRecord {
            key: row.try_get("key")?,
            salt: row.try_get("salt")?,
            values: values_from(&row)?,
            states: BTreeMap::new(),
        };
        flags.insert(row.try_get::<String, _>("plan_id")?, record);
    }
    let sql = format!(
        "SELECT s.* FROM flag_states s JOIN flags ON flags.plan_id = s.plan_id{where_plan}"
    );
    let mut q = sqlx::query(&sql);
    if let Some(a) = arg {
        q = q.bind(a);
    }
    for row in q.fetch_all(&mut *conn).await? {
        let plan_id: String = row.try_get("plan_id")?;
        if let Some(flag) = flags.get_mut(&plan_id) {
            flag.states
                .insert(row.try_get("environment")?, state_from(&row)?);
        }
    }
    Ok(flags)
}

/// The flag with this key, if a plan owns one.
pub async fn by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<FlagRecord>, StoreError> {
    let found = load(conn, " WHERE flags.key = $1", Some(key)).await?;
    Ok(found.into_values().next())
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
    load(conn, " WHERE flags.plan_id = $1", Some(plan_id))
        .await?
        .remove(plan_id)
        .ok_or(StoreError::Query(sqlx::Error::RowNotFound))
}

/// Every plan's flag, by plan id (for the plans list).
pub async fn by_plan(conn: &mut AnyConnection) -> Result<HashMap<String, FlagRecord>, StoreError> {
    load(conn, "", None).await
}

/// The name of the plan that owns each flag, by plan id.
pub async fn plan_names(conn: &mut AnyConnection) -> Result<HashMap<String, String>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT p.id, p.name FROM flags f JOIN plans p ON p.id = f.plan_id")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// A new plan's flag: off in every environment, with its own salt.
pub async fn insert(
    conn: &mut AnyConnection,
    (key, values): (&str, &FlagValues),
    plan_id: &str,
    salt: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO flags (key, plan_id, salt, updated_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(key)
        .bind(plan_id)
        .bind(salt)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    set_values(conn, plan_id, values).await
}

/// What the plan's flag serves (a draft's edit may change it).
pub async fn set_values(
    conn: &mut AnyConnection,
    plan_id: &str,
    values: &FlagValues,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE flags SET value_type = $2, on_value = $3, off_value = $4, on_variant = $5, \
         off_variant = $6 WHERE plan_id = $1",
    )
    .bind(plan_id)
    .bind(values.value_type.as_str())
    .bind(values.on.to_string())
    .bind(values.off.to_string())
    .bind(&values.on_variant)
    .bind(&values.off_variant)
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

/// Stores the flag's state in one environment (created on first use).
pub async fn save_state(
    conn: &mut AnyConnection,
    plan_id: &str,
    environment: &str,
    state: &EnvState,
    now: i64,
) -> Result<(), StoreError> {
    let json = |list: &[String]| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO flag_states (plan_id, environment, enabled, exposure_bp, allow_list, \
         deny_list, updated_at_ms, set_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (plan_id, environment) DO UPDATE SET enabled = excluded.enabled, \
         exposure_bp = excluded.exposure_bp, allow_list = excluded.allow_list, \
         deny_list = excluded.deny_list, updated_at_ms = excluded.updated_at_ms, \
         set_by = excluded.set_by",
    )
    .bind(plan_id)
    .bind(environment)
    .bind(i64::from(state.enabled))
    .bind(state.exposure_bp)
    .bind(json(&state.allow))
    .bind(json(&state.deny))
    .bind(now)
    .bind(&state.set_by)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_not_reached_yet_is_off_with_every_denied_entity_denied() {
        let production = EnvState {
            enabled: true,
            exposure_bp: 500,
            deny: vec!["org-3".into()],
            ..EnvState::default()
        };
        let dev = EnvState {
            enabled: true,
            exposure_bp: 10_000,
            deny: vec!["org-1".into(), "org-3".into()],
            ..EnvState::default()
        };
        let flag = FlagRecord {
            key: "f".into(),
            salt: "s".into(),
            values: FlagValues::default(),
            states: [
                ("production".to_string(), production.clone()),
                ("dev".to_string(), dev.clone()),
            ]
            .into(),
        };
        assert_eq!(
            flag.state("production"),
            production,
            "a state row is as stored"
        );
        assert_eq!(flag.state("dev"), dev);
        let staging = flag.state("staging");
        assert_eq!(staging.effective_bp(), 0);
        assert!(!staging.enabled);
        assert_eq!(
            staging.deny,
            vec!["org-1".to_string(), "org-3".to_string()],
            "once each, sorted"
        );
    }
}
