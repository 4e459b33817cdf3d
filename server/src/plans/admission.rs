//! The plan's word on its jobs' runs: which environment a run is for unless
//! it says, and whether the plan lets it run (`backfill::start::Admission`).
use app::dto::plans::PhaseStatus;
use sqlx::{AnyConnection, Row};

use crate::backfill::error::BackfillError;
use crate::backfill::runs::Mode;
use crate::backfill::start::{Admission, Ask};
use crate::db::StoreError;
use crate::plans::store;

/// A phase as its jobs see it.
struct PhaseAt {
    name: String,
    environment: String,
    status: PhaseStatus,
}

async fn phases(conn: &mut AnyConnection, plan_id: &str) -> Result<Vec<PhaseAt>, StoreError> {
    let rows = sqlx::query(
        "SELECT name, environment, status FROM phases WHERE plan_id = $1 ORDER BY position",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get("status")?;
            Ok(PhaseAt {
                name: r.try_get("name")?,
                environment: r.try_get("environment")?,
                status: PhaseStatus::parse(&status)
                    .map_err(|e| StoreError::Query(sqlx::Error::Decode(e.into())))?,
            })
        })
        .collect()
}

/// The environment a run is for when it does not say: the current phase's,
/// else the next phase's to start, else the last phase's.
pub async fn default_environment(
    conn: &mut AnyConnection,
    plan_id: &str,
) -> Result<Option<String>, StoreError> {
    let phases = phases(conn, plan_id).await?;
    let pick = phases
        .iter()
        .rev()
        .find(|p| p.status.is_current())
        .or_else(|| phases.iter().find(|p| p.status == PhaseStatus::Pending))
        .or(phases.last());
    Ok(pick.map(|p| p.environment.clone()))
}

/// The environment the job page offers first: where the next step is. Once
/// the running phase's gate has passed, that is the next phase's (its entry
/// criteria, such as seed 000's production dry-run, come next); otherwise
/// as `default_environment`. The page only suggests it: a run still goes
/// where it is asked for, and without one to `default_environment`.
pub async fn next_step_environment(
    conn: &mut AnyConnection,
    plan_id: &str,
) -> Result<Option<String>, StoreError> {
    let phases = phases(conn, plan_id).await?;
    let current = phases.iter().rposition(|p| p.status.is_current());
    if let Some(i) = current.filter(|i| phases[*i].status == PhaseStatus::Approved) {
        if let Some(next) = phases.get(i + 1) {
            return Ok(Some(next.environment.clone()));
        }
    }
    default_environment(conn, plan_id).await
}

/// A plan that ended (rolled back, aborted, completed) no longer runs its
/// jobs; undo and verify still do (the runner asks only for runs and
/// dry-runs). A live run of a job limited to some phases objects outside
/// them, or for another environment than the phase's.
pub struct PlanAdmission;

#[async_trait::async_trait]
impl Admission for PlanAdmission {
    async fn admit(
        &self,
        conn: &mut AnyConnection,
        plan_id: &str,
        ask: &Ask<'_>,
    ) -> Result<Vec<String>, BackfillError> {
        match store::status(conn, plan_id).await? {
            None => return Err(BackfillError::NotFound(format!("plan {plan_id:?}"))),
            Some(status) if status.is_final() => {
                return Err(BackfillError::Invalid(format!(
                    "the plan is {status}: its jobs no longer run (undo and verify still do)"
                )))
            }
            Some(_) => {}
        }
        if ask.mode != Mode::Run || ask.phases.is_empty() {
            return Ok(Vec::new());
        }
        let phases = phases(conn, plan_id).await?;
        let current = phases.iter().rev().find(|p| p.status.is_current());
        let allowed = ask
            .phases
            .iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(match current {
            None => vec![format!(
                "this job runs live only in phase {allowed}, and no phase is under way"
            )],
            Some(p) if !ask.phases.contains(&p.name) => vec![format!(
                "this job runs live only in phase {allowed}; the current phase is {:?}",
                p.name
            )],
            Some(p) if p.environment != ask.environment => vec![format!(
                "phase {:?} rolls out in {}; this run is for {}",
                p.name, p.environment, ask.environment
            )],
            Some(_) => Vec::new(),
        })
    }
}
