//! A job found in its plan's file: the plan file is the plans layer's to
//! parse, so this sits above it (with the job manager), not in the engine.
use crate::backfill::error::BackfillError;
use crate::backfill::job::Job;
use crate::plans::file::spec;

impl Job {
    /// The job named `name` in a plan file.
    pub fn find(source: &str, name: &str) -> Result<Job, BackfillError> {
        let file = spec::validate(source).map_err(|p| {
            BackfillError::Invalid(format!(
                "the plan file has problems: {}",
                p.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let names: Vec<String> = file
            .jobs
            .iter()
            .map(|j| j.get_ref().name.get_ref().clone())
            .collect();
        file.jobs
            .iter()
            .map(|j| j.get_ref())
            .find(|j| j.name.get_ref() == name)
            .map(Job::from_spec)
            .ok_or_else(|| {
                BackfillError::NotFound(if names.is_empty() {
                    format!("job {name:?} (this plan declares no [[jobs]])")
                } else {
                    format!("job {name:?} (this plan's jobs: {})", names.join(", "))
                })
            })
    }
}
