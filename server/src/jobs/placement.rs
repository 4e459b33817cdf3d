//! Where a run goes: the environment its evidence counts for (asked, or the
//! plan's current one) and the job's target there, never a target configured
//! for another environment's data; an unfinished run continues where it was.
use std::collections::BTreeMap;

use crate::backfill::error::BackfillError;
use crate::backfill::job::Job;
use crate::backfill::runs::{Mode, Run};
use crate::config::TargetConfig;
use crate::db::Store;
use crate::plans::admission::default_environment;

pub struct Where<'a> {
    pub store: &'a Store,
    pub environments: &'a [String],
    pub targets: &'a BTreeMap<String, TargetConfig>,
}

impl Where<'_> {
    /// The environment asked for, which must be configured, or the plan's
    /// current one.
    pub async fn environment(
        &self,
        plan_id: &str,
        asked: Option<String>,
    ) -> Result<String, BackfillError> {
        match asked {
            Some(e) if self.environments.contains(&e) => Ok(e),
            Some(e) => Err(BackfillError::Invalid(format!(
                "environment {e:?} is not one of the console's environments ({})",
                self.environments.join(", ")
            ))),
            None => {
                let mut conn = self.store.pool().acquire().await?;
                default_environment(&mut conn, plan_id)
                    .await?
                    .ok_or_else(|| BackfillError::NotFound(format!("plan {plan_id:?}")))
            }
        }
    }

    /// The environment and target of a run of `job` in `mode`, continuing
    /// `open` when there is one.
    pub async fn of(
        &self,
        plan_id: &str,
        job: &Job,
        mode: Mode,
        asked: Option<String>,
        open: Option<&Run>,
    ) -> Result<(String, String), BackfillError> {
        let job_name = &job.name;
        let environment = match open.filter(|r| !r.environment.is_empty()) {
            Some(r) if asked.as_ref().is_some_and(|e| *e != r.environment) => {
                return Err(BackfillError::Conflict(app::error::Conflict::WrongState, format!(
                    "job {job_name:?} has an unfinished {} for {}: let it finish or cancel it first",
                    mode.as_str(),
                    r.environment
                )))
            }
            Some(r) => r.environment.clone(),
            None => self.environment(plan_id, asked).await?,
        };
        let target = open
            .map(|r| r.target.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| job.target_for(&environment).to_string());
        if let Some(serves) =
            crate::backfill::target::serves_other(self.targets, &target, &environment)
        {
            return Err(BackfillError::Invalid(format!(
                "target {target:?} holds {serves}'s data and this run is for {environment}: \
                 give job {job_name:?} a target for {environment} (targets = {{ {environment} = \"…\" }})"
            )));
        }
        Ok((environment, target))
    }
}
