//! A backfill job as a plan file declares it (`[[jobs]]`): where it runs,
//! how it walks the keys, what it applies, how to undo and verify it, and how
//! fast and how carefully it goes. Validation reports line:column and path.
use serde::Deserialize;
use toml::Spanned;

use super::pace::{CHUNK_LIMITS, RATE_LIMITS};
use super::sandbox::{self, Access};
use crate::problems::Report;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Unique within the plan; `backfill run PLAN JOB` names it.
    pub name: Spanned<String>,
    /// A target named in the console's configuration (`[targets.NAME]`):
    /// where the job runs in every environment `targets` does not name.
    pub target: Spanned<String>,
    /// Where the job runs per environment (`{ production = "prod_db" }`).
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, Spanned<String>>,
    /// The phases a live run may start in (default: any); the run is then
    /// in that phase's environment.
    #[serde(default)]
    pub phases: Vec<Spanned<String>>,
    /// A live run needs the newest dry-run on its target and environment to
    /// be clean (default true); an operator may override it with a reason.
    #[serde(default = "yes")]
    pub require_dry_run: bool,
    /// The integer key column the job walks in order (not for a verify-only
    /// job).
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    /// Shorthand for the keyset query: the table to walk…
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    /// …and an optional SQL condition on its rows.
    #[serde(default)]
    pub filter: Option<Spanned<String>>,
    /// Or the keyset query itself: the next keys after `$1`, at most `$2`,
    /// in ascending order.
    #[serde(default)]
    pub select: Option<Spanned<String>>,
    /// Idempotent statement over the key range `$1 < key <= $2`, ending with
    /// `RETURNING` the key of each row it created. Without it the job is
    /// verify-only: it counts (a parity check) and changes nothing.
    #[serde(default)]
    pub apply: Option<Spanned<String>>,
    /// Removes one row the job created; `$1` is its key.
    #[serde(default)]
    pub undo: Option<Spanned<String>>,
    /// Verify: counts the rows that should have a new row…
    #[serde(default)]
    pub verify_legacy: Option<Spanned<String>>,
    /// …and the rows that do.
    #[serde(default)]
    pub verify_new: Option<Spanned<String>>,
    /// The keys of legacy rows that have no new row (an anti-join). Coverage
    /// is full only when it returns none; verify lists the first ten.
    #[serde(default)]
    pub verify_missing: Option<Spanned<String>>,
    /// Value parity: the key and the compared value of each legacy row with
    /// `$1 < key <= $2`, ordered by key (`SELECT id, md5(row(name,
    /// type)::text) FROM … WHERE id > $1 AND id <= $2 ORDER BY id`)…
    #[serde(default)]
    pub parity_legacy: Option<Spanned<String>>,
    /// …and of each new row under the legacy key. Verify lists the keys
    /// whose values differ, or that one side lacks.
    #[serde(default)]
    pub parity_new: Option<Spanned<String>>,
    /// Wait before a chunk while the target's health is past these numbers
    /// (`{ lock_waits = 0, connections = 0.8 }`; `backfill::health`).
    #[serde(default)]
    pub throttle: std::collections::BTreeMap<String, Spanned<f64>>,
    /// When a run may apply (`backfill::window`).
    #[serde(default)]
    pub window: Option<Spanned<super::window::WindowSpec>>,
    /// Verify passes when legacy − new ≤ this.
    #[serde(default)]
    pub max_delta: Option<Spanned<i64>>,
    /// Keys per chunk to start with (adaptive unless `fixed_chunk`).
    #[serde(default)]
    pub chunk: Option<Spanned<i64>>,
    /// Keep the chunk size as given instead of adapting it.
    #[serde(default)]
    pub fixed_chunk: bool,
    /// The chunk duration adaptation aims at, ms (default 200).
    #[serde(default)]
    pub target_chunk_ms: Option<Spanned<i64>>,
    /// 0 = unthrottled.
    #[serde(default)]
    pub max_rows_per_sec: Option<Spanned<i64>>,
    #[serde(default)]
    pub pause_ms: Option<Spanned<i64>>,
    /// `pause` (default), `skip` (record the failing keys, go on) or `rollback`
    /// (undo the run and stop).
    #[serde(default)]
    pub error_policy: Option<Spanned<String>>,
    /// With `skip`: stop (pause) once this share of processed keys failed.
    #[serde(default)]
    pub error_threshold_pct: Option<Spanned<f64>>,
    /// A counter the console exports for the job's live runs under the
    /// name a playbook watches (`sti_backfill_processed_total`), with
    /// `status` = created | error and these labels.
    #[serde(default)]
    pub metric: Option<Spanned<String>>,
    #[serde(default)]
    pub metric_labels: std::collections::BTreeMap<String, Spanned<String>>,
}

/// A Prometheus metric or label name.
pub fn is_metric_name(s: &str, label: bool) -> bool {
    let first = |c: char| c.is_ascii_alphabetic() || c == '_' || (!label && c == ':');
    let rest = |c: char| c.is_ascii_alphanumeric() || c == '_' || (!label && c == ':');
    s.chars().next().is_some_and(first) && s.chars().all(rest) && s.len() <= 100
}

pub const POLICIES: [&str; 3] = ["pause", "skip", "rollback"];

fn yes() -> bool {
    true
}

/// `name`, or `schema.name`: letters, digits, underscores.
pub fn is_identifier(s: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() <= 2 && parts.iter().all(|p| part(p))
}

fn has_params(sql: &str, n: usize) -> bool {
    (1..=n).all(|i| sql.contains(&format!("${i}")))
}

pub fn check_job(r: &mut Report<'_>, job: &JobSpec, path: &str) {
    let target_hint = "name a target from the console's configuration ([targets.NAME])";
    if !is_identifier(job.name.get_ref()) {
        r.at(
            job.name.span(),
            format!("{path}.name"),
            "use letters, digits and '_' (e.g. backfill_sti)",
        );
    }
    if !is_identifier(job.target.get_ref()) {
        r.at(job.target.span(), format!("{path}.target"), target_hint);
    }
    for (env, target) in &job.targets {
        if !is_identifier(target.get_ref()) {
            r.at(target.span(), format!("{path}.targets.{env}"), target_hint);
        }
    }
    match &job.apply {
        Some(apply) => check_walk(r, job, apply, path),
        None => {
            // Verify-only: nothing to walk, apply or undo.
            if job.verify_legacy.is_none() {
                r.at(
                    job.name.span(),
                    format!("{path}.apply"),
                    "give apply (a backfill) or verify_legacy and verify_new (a verify-only job)",
                );
            }
            let walk_fields = [
                (&job.key, "key"),
                (&job.table, "table"),
                (&job.select, "select"),
                (&job.filter, "filter"),
                (&job.undo, "undo"),
            ];
            for (value, field) in walk_fields {
                if let Some(v) = value {
                    r.at(
                        v.span(),
                        format!("{path}.{field}"),
                        "a job without apply is verify-only and walks no keys; remove it or add apply",
                    );
                }
            }
        }
    }
    if let Some(m) = job
        .verify_missing
        .as_ref()
        .filter(|_| job.verify_legacy.is_none())
    {
        r.at(
            m.span(),
            format!("{path}.verify_missing"),
            "verify_missing needs verify_legacy and verify_new beside it",
        );
    }
    if job.parity_legacy.is_some() != job.parity_new.is_some()
        || (job.parity_legacy.is_some() && job.verify_legacy.is_none())
    {
        let span = job
            .parity_legacy
            .as_ref()
            .or(job.parity_new.as_ref())
            .map_or(0..0, |s| s.span());
        r.at(
            span,
            format!("{path}.parity_new"),
            "value parity needs parity_legacy and parity_new, beside verify_legacy and verify_new",
        );
    }
    for (field, q) in [
        ("parity_legacy", &job.parity_legacy),
        ("parity_new", &job.parity_new),
    ] {
        if let Some(q) = q.as_ref().filter(|q| !has_params(q.get_ref(), 2)) {
            r.at(
                q.span(),
                format!("{path}.{field}"),
                "returns the key and the compared value of each row with $1 < key <= $2, ordered by key",
            );
        }
    }
    for (name, limit) in &job.throttle {
        match super::signal::Signal::parse(name) {
            None => r.at(
                limit.span(),
                format!("{path}.throttle.{name}"),
                format!(
                    "{name:?} is not a health signal; use one of {}",
                    super::signal::Signal::names()
                ),
            ),
            Some(_) if !limit.get_ref().is_finite() || *limit.get_ref() < 0.0 => r.at(
                limit.span(),
                format!("{path}.throttle.{name}"),
                "a number, 0 or more",
            ),
            Some(_) => {}
        }
    }
    if let Some(w) = &job.window {
        super::window::check(r, w.get_ref(), &format!("{path}.window"));
    }
    if job.verify_legacy.is_some() != job.verify_new.is_some() {
        let span = job
            .verify_legacy
            .as_ref()
            .or(job.verify_new.as_ref())
            .map_or(0..0, |s| s.span());
        r.at(
            span,
            format!("{path}.verify_new"),
            "verify needs both verify_legacy and verify_new",
        );
    }
    for (value, field, min, max) in [
        (
            &job.chunk,
            "chunk",
            *CHUNK_LIMITS.start(),
            *CHUNK_LIMITS.end(),
        ),
        (&job.target_chunk_ms, "target_chunk_ms", 10, 60_000),
        (
            &job.max_rows_per_sec,
            "max_rows_per_sec",
            *RATE_LIMITS.start(),
            *RATE_LIMITS.end(),
        ),
        (&job.pause_ms, "pause_ms", 0, 3_600_000),
        (&job.max_delta, "max_delta", 0, i64::MAX),
    ] {
        if let Some(v) = value {
            if !(min..=max).contains(v.get_ref()) {
                r.at(
                    v.span(),
                    format!("{path}.{field}"),
                    format!("{} is outside {min}..={max}", v.get_ref()),
                );
            }
        }
    }
    if let Some(p) = &job.error_policy {
        if !POLICIES.contains(&p.get_ref().as_str()) {
            r.at(
                p.span(),
                format!("{path}.error_policy"),
                format!("{:?}: use pause, skip or rollback", p.get_ref()),
            );
        }
    }
    check_sql(r, job, path);
    if let Some(m) = &job.metric {
        if !is_metric_name(m.get_ref(), false) || !m.get_ref().ends_with("_total") {
            r.at(
                m.span(),
                format!("{path}.metric"),
                "a counter's name: letters, digits, '_' and ':', ending in _total",
            );
        }
    }
    for (name, value) in &job.metric_labels {
        if !is_metric_name(name, true) || name == "status" || name.starts_with("__") {
            r.at(
                value.span(),
                format!("{path}.metric_labels.{name}"),
                "a label name (letters, digits, '_'; not status, which the console sets)",
            );
        }
        if job.metric.is_none() {
            r.at(
                value.span(),
                format!("{path}.metric_labels"),
                "metric_labels go with metric",
            );
        }
    }
    if let Some(t) = &job.error_threshold_pct {
        if !(0.0..=100.0).contains(t.get_ref()) {
            r.at(
                t.span(),
                format!("{path}.error_threshold_pct"),
                "a percentage, 0 to 100",
            );
        }
    }
}

/// A job that walks keys and applies: its key, keyset, apply and undo.
fn check_walk(r: &mut Report<'_>, job: &JobSpec, apply: &Spanned<String>, path: &str) {
    match &job.key {
        None => r.at(
            job.name.span(),
            format!("{path}.key"),
            "a job with apply walks an integer key column: key = \"id\"",
        ),
        Some(k) if !is_identifier(k.get_ref()) => r.at(
            k.span(),
            format!("{path}.key"),
            "the integer key column: letters, digits and '_'",
        ),
        _ => {}
    }
    match (&job.table, &job.select) {
        (Some(_), Some(s)) => r.at(
            s.span(),
            format!("{path}.select"),
            "give either table (+ filter) or select, not both",
        ),
        (None, None) => r.at(
            job.name.span(),
            format!("{path}.table"),
            "say which keys to walk: table = \"…\" (with an optional filter) or select = \"…\"",
        ),
        (Some(t), None) if !is_identifier(t.get_ref()) => r.at(
            t.span(),
            format!("{path}.table"),
            "a table name: letters, digits, '_' and at most one '.'",
        ),
        (None, Some(s)) if !has_params(s.get_ref(), 2) => r.at(
            s.span(),
            format!("{path}.select"),
            "the keyset query takes the last key as $1 and the chunk size as $2",
        ),
        _ => {}
    }
    if let (Some(f), None) = (&job.filter, &job.table) {
        r.at(f.span(), format!("{path}.filter"), "filter goes with table");
    }
    let sql = apply.get_ref();
    if !has_params(sql, 2) || !sql.to_lowercase().contains("returning") {
        r.at(
            apply.span(),
            format!("{path}.apply"),
            "apply runs over $1 < key <= $2 and ends with RETURNING the key of each row it creates",
        );
    }
    if let Some(u) = &job.undo {
        if !has_params(u.get_ref(), 1) {
            r.at(
                u.span(),
                format!("{path}.undo"),
                "undo removes one created row; its key is $1",
            );
        }
    }
}

/// Each SQL field is one statement of the kind it may be (see `sandbox`); a
/// filter is checked inside the keyset query it becomes.
fn check_sql(r: &mut Report<'_>, job: &JobSpec, path: &str) {
    let key = job.key.as_ref().map_or("", |k| k.get_ref());
    let filtered = job
        .table
        .as_ref()
        .zip(job.filter.as_ref())
        .filter(|(t, _)| is_identifier(t.get_ref()) && is_identifier(key))
        .map(|(t, f)| {
            (
                f,
                format!(
                    "SELECT {key} FROM {} WHERE {key} > $1 AND ({})",
                    t.get_ref(),
                    f.get_ref()
                ),
            )
        });
    let mut fields: Vec<(&Spanned<String>, &str, String, Access)> = Vec::new();
    if let Some(s) = &job.select {
        fields.push((s, "select", s.get_ref().clone(), Access::Read));
    }
    if let Some((f, sql)) = filtered {
        fields.push((f, "filter", sql, Access::Read));
    }
    for (value, field, access) in [
        (&job.apply, "apply", Access::Write),
        (&job.undo, "undo", Access::Write),
        (&job.verify_legacy, "verify_legacy", Access::Read),
        (&job.verify_new, "verify_new", Access::Read),
        (&job.verify_missing, "verify_missing", Access::Read),
        (&job.parity_legacy, "parity_legacy", Access::Read),
        (&job.parity_new, "parity_new", Access::Read),
    ] {
        if let Some(v) = value {
            fields.push((v, field, v.get_ref().clone(), access));
        }
    }
    for (value, field, sql, access) in fields {
        if let Err(problem) = sandbox::check_any(&sql, access) {
            r.at(value.span(), format!("{path}.{field}"), problem);
        }
    }
}
