//! The plan tables' rows as records (plans, phases, checklist items,
//! decisions; change requests decode in `change_requests`): one decoder per
//! record type, so every query that reads a table decodes it the same way.
use app::dto::plans::{ItemKind, PhaseStatus, PlanStatus, Verdict};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{roles_from_text, DecisionRecord, ItemRecord, PhaseRecord, PlanRecord};
use crate::plans::file::definition::ItemDef;

/// A stored text that is not one of its closed set (a row written by a
/// newer console, or by hand).
pub(super) fn bad_value(column: &str, e: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: e.into(),
    }
}

pub fn plan_status(text: &str) -> Result<PlanStatus, sqlx::Error> {
    PlanStatus::parse(text).map_err(|e| bad_value("status", e))
}

pub fn phase_status(text: &str) -> Result<PhaseStatus, sqlx::Error> {
    PhaseStatus::parse(text).map_err(|e| bad_value("status", e))
}

impl FromRow<'_, AnyRow> for PlanRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let status: String = row.try_get("status")?;
        Ok(PlanRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            flag_key: row.try_get("flag_key")?,
            status: plan_status(&status)?,
            source_toml: row.try_get("source_toml")?,
            revision: row.try_get("revision")?,
            created_by: row.try_get("created_by")?,
            created_at_ms: row.try_get("created_at_ms")?,
            updated_at_ms: row.try_get("updated_at_ms")?,
        })
    }
}

/// A phase without its items and decisions (read with their own queries).
impl FromRow<'_, AnyRow> for PhaseRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let status: String = row.try_get("status")?;
        let roles: String = row.try_get("approver_roles")?;
        Ok(PhaseRecord {
            id: row.try_get("id")?,
            position: row.try_get("position")?,
            name: row.try_get("name")?,
            environment: row.try_get("environment")?,
            exposure_bp: row.try_get("exposure_bp")?,
            notes: row.try_get("notes")?,
            approvals_required: row.try_get("approvals_required")?,
            approver_roles: roles_from_text(&roles),
            signed: row.try_get::<i64, _>("signed")? != 0,
            approvers: row
                .try_get::<String, _>("approvers")?
                .lines()
                .map(String::from)
                .collect(),
            soak_ms: row.try_get("soak_ms")?,
            status: phase_status(&status)?,
            started_at_ms: row.try_get("started_at_ms")?,
            requested_by: row.try_get("requested_by")?,
            requested_by_name: row.try_get("requested_by_name")?,
            requested_at_ms: row.try_get("requested_at_ms")?,
            approved_at_ms: row.try_get("approved_at_ms")?,
            done_at_ms: row.try_get("done_at_ms")?,
            items: Vec::new(),
            decisions: Vec::new(),
        })
    }
}

impl FromRow<'_, AnyRow> for ItemRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        let tickers: String = row.try_get("tickers")?;
        Ok(ItemRecord {
            id: row.try_get("id")?,
            position: row.try_get("position")?,
            def: ItemDef {
                entry: row.try_get::<i64, _>("entry")? == 1,
                kind: ItemKind::parse(&kind).map_err(|e| bad_value("kind", e))?,
                text: row.try_get("text")?,
                tickers: roles_from_text(&tickers),
                check_name: row.try_get("check_name")?,
                max_delta: row.try_get("max_delta")?,
                job: row.try_get("job")?,
                max_age_ms: row.try_get("max_age_ms")?,
            },
            ticked_by: row.try_get("ticked_by")?,
            ticked_by_name: row.try_get("ticked_by_name")?,
            ticked_at_ms: row.try_get("ticked_at_ms")?,
            tick_comment: row.try_get("tick_comment")?,
        })
    }
}

impl FromRow<'_, AnyRow> for DecisionRecord {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let verdict: String = row.try_get("verdict")?;
        Ok(DecisionRecord {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            verdict: Verdict::parse(&verdict).map_err(|e| bad_value("verdict", e))?,
            comment: row.try_get("comment")?,
            evidence_hash: row.try_get("evidence_hash")?,
            created_at_ms: row.try_get("created_at_ms")?,
            dismissed_at_ms: row.try_get("dismissed_at_ms")?,
            dismissed_reason: row.try_get("dismissed_reason")?,
            evidence_json: row.try_get("evidence_json")?,
        })
    }
}

/// A row of a phase's child table (items, decisions) with the phase it
/// belongs to.
pub struct OfPhase<T>(pub String, pub T);

impl<'r, T: FromRow<'r, AnyRow>> FromRow<'r, AnyRow> for OfPhase<T> {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OfPhase(row.try_get("phase_id")?, T::from_row(row)?))
    }
}

/// A change request's decision with the change it belongs to.
pub struct OfChange<T>(pub String, pub T);

impl<'r, T: FromRow<'r, AnyRow>> FromRow<'r, AnyRow> for OfChange<T> {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OfChange(row.try_get("change_id")?, T::from_row(row)?))
    }
}
