//! The plan file's `[[jobs]]` against the rest of the file: each job valid
//! on its own (`backfill::spec::check_job`), names that differ, the phases a
//! job names and the jobs an item names exist; `values_match` reads jobs
//! that compare values, and a phase that cannot be undone asks for it
//! wherever it asks for coverage.
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
    values_before_irreversible(r, file);
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

/// Every job a `values_match` item reads compares values; an irreversible
/// phase that requires `coverage_full` requires `values_match` too: counts
/// prove that the new rows exist, not that they hold what the legacy
/// columns hold — and a column drop destroys the legacy side.
fn values_before_irreversible(r: &mut Report<'_>, file: &PlanFile) {
    let compares = |name: &str| {
        file.jobs.iter().map(|j| j.get_ref()).any(|j| {
            j.name.get_ref() == name && j.parity_legacy.is_some() && j.parity_new.is_some()
        })
    };
    for (i, phase) in file.phases.iter().enumerate() {
        let p = phase.get_ref();
        let items = p.items(&format!("phases[{i}]"));
        let named = |check: &str| {
            items
                .iter()
                .filter(|(_, item)| {
                    item.get_ref()
                        .check
                        .as_ref()
                        .is_some_and(|c| c.get_ref() == check)
                })
                .collect::<Vec<_>>()
        };
        for (path, item) in named("values_match") {
            let item = item.get_ref();
            let jobs: Vec<&str> = match &item.job {
                Some(j) => vec![j.get_ref().as_str()],
                None => file
                    .jobs
                    .iter()
                    .map(|j| j.get_ref().name.get_ref().as_str())
                    .collect(),
            };
            for job in jobs.into_iter().filter(|j| !compares(j)) {
                r.at(
                    item.check.as_ref().map_or(0..0, |c| c.span()),
                    format!("{path}.check"),
                    format!(
                        "values_match reads job {job:?}, which compares no values: give it parity_legacy and parity_new"
                    ),
                );
            }
        }
        if p.irreversible.is_some() && named("values_match").is_empty() {
            if let Some((path, item)) = named("coverage_full").first() {
                r.at(
                    item.get_ref().check.as_ref().map_or(0..0, |c| c.span()),
                    format!("{path}.check"),
                    "this phase cannot be undone and checks only that rows exist: add an item with \
                     check = \"values_match\" (a verify that compares values: parity_legacy and parity_new)",
                );
            }
        }
    }
}
