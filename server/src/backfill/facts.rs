//! What the backfill runs of a plan say, for the checklist's automatic items
//! ("dry-run clean", "backfill complete", "coverage 100 %", "delta ≤ N"):
//! the newest run of each job in each mode for each environment. A phase's
//! items read only runs for its own environment, and only those no older
//! than the item's `max_age`.
use std::collections::HashMap;

use super::runs::{self, Mode, Run, RunStatus};
use crate::db::StoreError;

#[derive(Debug, Clone, Default)]
pub struct JobFacts {
    /// The jobs the plan file declares, and whether each is verify-only.
    pub declared: Vec<(String, bool)>,
    /// A digest of their definitions (part of the approval evidence).
    pub jobs_digest: String,
    latest: HashMap<(String, &'static str, String), Run>,
}

/// Where and since when evidence counts: the phase's environment, and the
/// oldest start that counts (`None`: any).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub environment: &'a str,
    pub since_ms: Option<i64>,
}

impl JobFacts {
    pub async fn load(
        conn: &mut sqlx::AnyConnection,
        plan_id: &str,
        (declared, jobs_digest): (Vec<(String, bool)>, String),
    ) -> Result<JobFacts, StoreError> {
        let mut latest = HashMap::new();
        // Newest first: the first of each (job, mode) is the one that counts.
        for run in runs::of_plan_in(conn, plan_id).await? {
            latest
                .entry((run.job.clone(), run.mode.as_str(), run.environment.clone()))
                .or_insert(run);
        }
        Ok(JobFacts {
            declared,
            jobs_digest,
            latest,
        })
    }

    /// An undo finished after the run (or verify) this check reads.
    fn undone_since(&self, job: &str, check: &str, env: &str) -> bool {
        let read = match check {
            "backfill_complete" => Mode::Run,
            "coverage_full" | "parity_within" | "values_match" => Mode::Verify,
            _ => return false,
        };
        match (
            self.latest(job, Mode::Undo, env),
            self.latest(job, read, env),
        ) {
            (Some(undo), Some(run)) => {
                undo.status == RunStatus::Done && undo.started_at_ms >= run.started_at_ms
            }
            _ => false,
        }
    }

    fn latest(&self, job: &str, mode: Mode, env: &str) -> Option<&Run> {
        self.latest
            .get(&(job.to_string(), mode.as_str(), env.to_string()))
    }

    /// Judges a backfill check over `job` (or every declared job): `None`
    /// when the check is not a backfill check.
    pub fn judge(
        &self,
        check: &str,
        job: Option<&str>,
        max_delta: Option<i64>,
        scope: Scope<'_>,
    ) -> Option<(bool, String)> {
        if !matches!(
            check,
            "dry_run_clean"
                | "backfill_complete"
                | "coverage_full"
                | "parity_within"
                | "values_match"
        ) {
            return None;
        }
        // Without a job named: every job the check applies to (a
        // verify-only job has no dry-run or run).
        let walks = matches!(check, "dry_run_clean" | "backfill_complete");
        let jobs: Vec<&str> = match job {
            Some(j) => vec![j],
            None => self
                .declared
                .iter()
                .filter(|(_, verify_only)| !(walks && *verify_only))
                .map(|(name, _)| name.as_str())
                .collect(),
        };
        if jobs.is_empty() {
            return Some((false, "the plan declares no backfill jobs".into()));
        }
        let env = scope.environment;
        let mut details = Vec::new();
        let mut met = true;
        for j in jobs {
            let read = match check {
                "dry_run_clean" => Mode::DryRun,
                "backfill_complete" => Mode::Run,
                _ => Mode::Verify,
            };
            if let Some(stale) = self
                .latest(j, read, env)
                .filter(|r| scope.since_ms.is_some_and(|since| r.started_at_ms < since))
            {
                met = false;
                details.push(format!(
                    "{j}: the newest {} for {env} is too old (started {})",
                    read.as_str().replace('_', "-"),
                    app::format::utc_datetime(stale.started_at_ms)
                ));
                continue;
            }
            let (ok, why) = match check {
                "dry_run_clean" => match self.latest(j, Mode::DryRun, env) {
                    None => (false, format!("no dry-run for {env} yet")),
                    Some(r) if r.status != RunStatus::Done => {
                        (false, format!("dry-run {}", r.status))
                    }
                    Some(r) if r.errors > 0 => {
                        (false, format!("dry-run found {} failing keys", r.errors))
                    }
                    Some(r) => (true, format!("dry-run clean: would create {}", r.created)),
                },
                _ if self.undone_since(j, check, env) => {
                    (false, "undone since; run it again".to_string())
                }
                "backfill_complete" => match self.latest(j, Mode::Run, env) {
                    None => (false, format!("not run for {env} yet")),
                    Some(r) if r.status != RunStatus::Done => (
                        false,
                        format!(
                            "run {} at key {}",
                            r.status,
                            r.last_key.map_or("-".into(), |k| k.to_string())
                        ),
                    ),
                    // Failing keys are not a finished backfill: the item
                    // allows `max_delta` of them (default none).
                    Some(r) if r.errors > max_delta.unwrap_or(0) => (
                        false,
                        format!(
                            "done, but {} failing keys remain (allowed {}): fix them and run again",
                            r.errors,
                            max_delta.unwrap_or(0)
                        ),
                    ),
                    Some(r) => (
                        true,
                        format!(
                            "done: created {}, {} failing keys recorded",
                            r.created, r.errors
                        ),
                    ),
                },
                _ => match self.latest(j, Mode::Verify, env) {
                    None => (false, format!("not verified for {env} yet")),
                    Some(r) => {
                        let delta = r.result["delta"].as_i64().unwrap_or(i64::MAX);
                        let coverage = r.result["coverage_pct"].as_f64().unwrap_or(0.0);
                        if check == "coverage_full" {
                            coverage_fact(&r.result, coverage)
                        } else if check == "values_match" {
                            values_fact(&r.result)
                        } else {
                            let allowed = max_delta.unwrap_or(0);
                            (
                                delta.abs() <= allowed,
                                format!("delta {delta} (allowed {allowed})"),
                            )
                        }
                    }
                },
            };
            met &= ok;
            details.push(format!("{j}: {why}"));
        }
        Some((met, details.join("; ")))
    }
}

/// `values_match` from a verify result: the job compared values, and none
/// differed, was missing or extra.
fn values_fact(result: &serde_json::Value) -> (bool, String) {
    let v = &result["values"];
    if v.is_null() {
        return (
            false,
            "this verify compared no values (the job needs parity_legacy and parity_new)".into(),
        );
    }
    let n = |k: &str| v[k].as_i64().unwrap_or(-1);
    if v["passed"].as_bool() == Some(true) {
        return (true, format!("values match on {} rows", n("compared")));
    }
    let keys: Vec<String> = v["keys"]
        .as_array()
        .map(|k| k.iter().take(10).map(|v| v.to_string()).collect())
        .unwrap_or_default();
    (
        false,
        format!(
            "{} rows differ, {} missing, {} extra of {} compared (first keys: {})",
            n("differ"),
            n("missing"),
            n("extra"),
            n("compared"),
            keys.join(", ")
        ),
    )
}

/// `coverage_full` from a verify result: exact counts (a verify made before
/// `coverage_full` was recorded is judged by its counts), and no missing key
/// when the job lists them.
fn coverage_fact(result: &serde_json::Value, coverage: f64) -> (bool, String) {
    let legacy = result["legacy"].as_i64().unwrap_or(0);
    let new = result["new"].as_i64().unwrap_or(-1);
    let full = result["coverage_full"].as_bool().unwrap_or(new == legacy);
    let missing = result["missing"].as_i64();
    let why = match missing {
        Some(0) => format!("coverage {new} of {legacy} rows, none missing"),
        Some(n) => {
            let keys: Vec<String> = result["missing_keys"]
                .as_array()
                .map(|k| k.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            format!("{n} rows missing (first keys: {})", keys.join(", "))
        }
        None if full => format!("coverage {new} of {legacy} rows"),
        None => format!("coverage {coverage} % ({new} of {legacy} rows)"),
    };
    (full && missing.is_none_or(|n| n == 0), why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts_with_run(errors: i64) -> JobFacts {
        let run = Run {
            id: "r".into(),
            plan_id: "p".into(),
            job: "school".into(),
            mode: Mode::Run,
            status: RunStatus::Done,
            target: "demo".into(),
            environment: "staging".into(),
            last_key: Some(100),
            processed: 100,
            created: 100 - errors,
            skipped: 0,
            errors,
            chunk_size: 10,
            max_rows_per_sec: 0,
            total_estimate: Some(100),
            result: json!({}),
            started_by: "olga".into(),
            owner: "server".into(),
            started_at_ms: 1,
            updated_at_ms: 2,
            finished_at_ms: Some(2),
        };
        JobFacts {
            declared: vec![("school".into(), false)],
            jobs_digest: String::new(),
            latest: HashMap::from([(
                (
                    "school".to_string(),
                    Mode::Run.as_str(),
                    "staging".to_string(),
                ),
                run,
            )]),
        }
    }

    const STAGING: Scope<'static> = Scope {
        environment: "staging",
        since_ms: None,
    };

    #[test]
    fn a_backfill_with_failing_keys_is_not_complete_unless_the_item_allows_them() {
        let (met, why) = facts_with_run(3)
            .judge("backfill_complete", None, None, STAGING)
            .unwrap();
        assert!(!met);
        assert!(why.contains("3 failing keys remain (allowed 0)"), "{why}");
        assert!(
            facts_with_run(3)
                .judge("backfill_complete", None, Some(3), STAGING)
                .unwrap()
                .0
        );
        assert!(
            facts_with_run(0)
                .judge("backfill_complete", None, None, STAGING)
                .unwrap()
                .0
        );
    }

    #[test]
    fn evidence_counts_only_for_its_environment_and_while_fresh() {
        let facts = facts_with_run(0);
        let production = Scope {
            environment: "production",
            since_ms: None,
        };
        let (met, why) = facts
            .judge("backfill_complete", None, None, production)
            .unwrap();
        assert!(!met, "a staging run is no evidence for production");
        assert!(why.contains("not run for production yet"), "{why}");
        let fresh = Scope {
            since_ms: Some(1),
            ..STAGING
        };
        assert!(
            facts
                .judge("backfill_complete", None, None, fresh)
                .unwrap()
                .0
        );
        let stale = Scope {
            since_ms: Some(2),
            ..STAGING
        };
        let (met, why) = facts.judge("backfill_complete", None, None, stale).unwrap();
        assert!(!met, "older than max_age");
        assert!(why.contains("too old"), "{why}");
    }

    #[test]
    fn coverage_is_exact_and_names_missing_keys() {
        let r = json!({"legacy": 1_000_000, "new": 999_999, "coverage_full": false});
        assert!(!coverage_fact(&r, 100.0).0, "rounded to 100 % is not full");
        let r = json!({"legacy": 10, "new": 10, "coverage_full": false, "missing": 1, "missing_keys": [7]});
        let (met, why) = coverage_fact(&r, 100.0);
        assert!(!met);
        assert!(why.contains("1 rows missing (first keys: 7)"), "{why}");
        let r = json!({"legacy": 10, "new": 10, "coverage_full": true, "missing": 0, "missing_keys": []});
        assert!(coverage_fact(&r, 100.0).0);
        // A verify from before exact coverage: judged by its counts.
        assert!(coverage_fact(&json!({"legacy": 5, "new": 5}), 100.0).0);
        assert!(!coverage_fact(&json!({"legacy": 5, "new": 4}), 80.0).0);
    }
}
