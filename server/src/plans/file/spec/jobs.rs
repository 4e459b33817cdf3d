//! The plan file's `[[jobs]]` against the rest of the file: each job valid
//! on its own (`backfill::spec::check_job`), names that differ, the phases a
//! job names and the jobs an item names exist.
use super::{PlanFile, Report};
use crate::backfill::spec::check_job;

pub fn check_jobs(r: &mut Report<'_>, file: &PlanFile) {
    let declared: Vec<String> = file
        .jobs
        .iter()
        .map(|j| j.get_ref().name.get_ref().clone())
        .collect();
    for (i, phase) in file.phases.iter().enumerate() {
        for (item_path, item) in phase.get_ref().items(&format!("phases[{i}]")) {
            if let Some(job) = &item.get_ref().job {
                if !declared.contains(job.get_ref()) {
                    r.at(
                        job.span(),
                        format!("{item_path}.job"),
                        format!(
                            "{:?} is not a job of this plan ([[jobs]] names: {})",
                            job.get_ref(),
                            declared.join(", ")
                        ),
                    );
                }
            }
        }
    }
    let phase_names: Vec<&str> = file
        .phases
        .iter()
        .map(|p| p.get_ref().name.get_ref().as_str())
        .collect();
    let mut job_names = std::collections::HashSet::new();
    for (i, job) in file.jobs.iter().enumerate() {
        let j = job.get_ref();
        check_job(r, j, &format!("jobs[{i}]"));
        for (k, phase) in j.phases.iter().enumerate() {
            if !phase_names.contains(&phase.get_ref().as_str()) {
                r.at(
                    phase.span(),
                    format!("jobs[{i}].phases[{k}]"),
                    format!(
                        "{:?} is not a phase of this plan (phases: {})",
                        phase.get_ref(),
                        phase_names.join(", ")
                    ),
                );
            }
        }
        if !job_names.insert(j.name.get_ref().to_lowercase()) {
            r.at(
                j.name.span(),
                format!("jobs[{i}].name"),
                format!(
                    "{:?} is used by an earlier job; job names must differ",
                    j.name.get_ref()
                ),
            );
        }
    }
}
