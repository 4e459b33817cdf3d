//! Guardrails as a plan file declares them (`[[guardrails]]`): what is
//! measured (PromQL against a configured Prometheus, or read-only SQL on a
//! target), the healthy range, how long a breach must last and how often it
//! is measured, how many failures, inconclusive readings and errors are
//! tolerated (Argo Rollouts' defaults 0 / 0 / 4), the minimum sample, what
//! no data means, and the action. Parsing and validation only.
use serde::Deserialize;
use toml::Spanned;

use crate::backfill::sandbox::{self, Access};
use crate::backfill::spec::is_identifier;
use crate::plans::file::duration::parse_duration_ms;
use crate::problems::Report;
use app::format::number;

pub const ACTIONS: [&str; 4] = ["record", "pause", "rollback", "emergency"];

/// A bound as written: a number, or relative to the baseline captured
/// before the phase started (`"baseline * 1.10"`, `"baseline + 0.5"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BoundSpec {
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardrailSpec {
    /// Unique in the plan; a checklist item `check = "guardrail_NAME"`
    /// is met while it is healthy.
    pub name: Spanned<String>,
    /// The environments it watches (default: every one the plan rolls out in).
    #[serde(default)]
    pub environments: Vec<Spanned<String>>,
    /// PromQL source: a `[prometheus.NAME]` of the console's configuration…
    #[serde(default)]
    pub prometheus: Option<Spanned<String>>,
    /// …and an instant query that returns one series.
    #[serde(default)]
    pub query: Option<Spanned<String>>,
    /// SQL source: a target, and one read-only statement returning one number.
    #[serde(default)]
    pub target: Option<Spanned<String>>,
    #[serde(default)]
    pub sql: Option<Spanned<String>>,
    /// Or, with `target`, a built-in health signal of a PostgreSQL target
    /// instead of `sql` (`lock_waits`, `connections`…: `backfill::health`).
    #[serde(default)]
    pub health: Option<Spanned<String>>,
    /// Healthy while value ≤ max (and ≥ min).
    #[serde(default)]
    pub max: Option<Spanned<BoundSpec>>,
    #[serde(default)]
    pub min: Option<Spanned<BoundSpec>>,
    /// How long it must read healthy to count (and a breach to act): `5m`.
    #[serde(default, rename = "for")]
    pub for_: Option<Spanned<String>>,
    /// How often it is measured (default `1m`).
    #[serde(default)]
    pub interval: Option<Spanned<String>>,
    #[serde(default)]
    pub failure_limit: Option<Spanned<i64>>,
    #[serde(default)]
    pub inconclusive_limit: Option<Spanned<i64>>,
    #[serde(default)]
    pub consecutive_error_limit: Option<Spanned<i64>>,
    /// The sample behind the value (a request count, a row count), from the
    /// same source; below `min_sample` a reading is inconclusive.
    #[serde(default)]
    pub sample_query: Option<Spanned<String>>,
    #[serde(default)]
    pub min_sample: Option<Spanned<f64>>,
    /// `fail` (default): no data is a failure; `zero`: no data reads as 0.
    #[serde(default)]
    pub no_data: Option<Spanned<String>>,
    /// `record` (default), `pause`, `rollback` (standard) or `emergency`.
    #[serde(default)]
    pub action: Option<Spanned<String>>,
    /// Which baseline relative bounds judge against: `rollout` (default:
    /// one per environment, captured when the guardrail is first read there
    /// — before the rollout's first exposure in it — and kept for every
    /// later phase, so a slow drift cannot pass step by step) or `phase`
    /// (captured again at each phase's start).
    #[serde(default)]
    pub baseline: Option<Spanned<String>>,
    /// PromQL: the baseline is the query's mean over this long before the
    /// capture (`"24h"`: seed 003's 24-hour baseline), not its value at
    /// that moment.
    #[serde(default)]
    pub baseline_window: Option<Spanned<String>>,
    /// Measure and record, never act.
    #[serde(default)]
    pub dry_run: bool,
    /// One source judges every environment it watches though it cannot
    /// tell them apart (no `{{environment}}` in its query, no server of the
    /// environment's own): said on purpose, since otherwise an environment
    /// before production is refused (`plans::guardrail::environment`).
    #[serde(default)]
    pub shared_source: bool,
}

pub fn check(r: &mut Report<'_>, g: &GuardrailSpec, path: &str) {
    if !is_identifier(g.name.get_ref()) || g.name.get_ref().contains('.') {
        r.at(
            g.name.span(),
            format!("{path}.name"),
            "letters, digits and '_' (an item names it as check = \"guardrail_NAME\")",
        );
    }
    match (&g.prometheus, &g.query, &g.target, &g.sql) {
        (Some(_), Some(_), None, None) if g.health.is_none() => {}
        (None, None, Some(t), None) if g.health.is_some() => {
            if !is_identifier(t.get_ref()) {
                r.at(t.span(), format!("{path}.target"), "name a target from the console's configuration ([targets.NAME])");
            }
            let h = g.health.as_ref().expect("matched");
            if crate::backfill::signal::Signal::parse(h.get_ref()).is_none() {
                r.at(
                    h.span(),
                    format!("{path}.health"),
                    format!(
                        "{:?} is not a health signal; use one of {}",
                        h.get_ref(),
                        crate::backfill::signal::Signal::names()
                    ),
                );
            }
            if let Some(q) = &g.sample_query {
                r.at(q.span(), format!("{path}.sample_query"), "a health signal has no sample query");
            }
        }
        (None, None, Some(t), Some(sql)) if g.health.is_none() => {
            if !is_identifier(t.get_ref()) {
                r.at(t.span(), format!("{path}.target"), "name a target from the console's configuration ([targets.NAME])");
            }
            for (field, q) in [("sql", Some(sql)), ("sample_query", g.sample_query.as_ref())] {
                if let Some(q) = q {
                    if let Err(problem) = sandbox::check_any(q.get_ref(), Access::Read) {
                        r.at(q.span(), format!("{path}.{field}"), problem);
                    }
                }
            }
        }
        _ => r.at(
            g.name.span(),
            format!("{path}.query"),
            "give a source: prometheus = \"NAME\" with query = \"…\" (PromQL), or target = \"NAME\" with sql = \"…\" or with health = \"lock_waits\" (a built-in signal)",
        ),
    }
    if g.max.is_none() && g.min.is_none() {
        r.at(
            g.name.span(),
            format!("{path}.max"),
            "say what is healthy: max = …, min = …, or both",
        );
    }
    for (field, b) in [("max", &g.max), ("min", &g.min)] {
        if let Some(b) = b {
            if let Err(e) = Bound::parse(b.get_ref()) {
                r.at(b.span(), format!("{path}.{field}"), e);
            }
        }
    }
    if let Some(b) = &g.baseline {
        if !matches!(b.get_ref().as_str(), "rollout" | "phase") {
            r.at(
                b.span(),
                format!("{path}.baseline"),
                "\"rollout\" (one baseline before the rollout, the default) or \"phase\" (one per phase start)",
            );
        }
    }
    if let Some(w) = &g.baseline_window {
        match parse_duration_ms(w.get_ref()) {
            Err(e) => r.at(w.span(), format!("{path}.baseline_window"), e),
            Ok(ms) if !(60_000..=30 * 86_400_000).contains(&ms) => r.at(
                w.span(),
                format!("{path}.baseline_window"),
                "between 1m and 30d",
            ),
            Ok(_) if g.prometheus.is_none() => r.at(
                w.span(),
                format!("{path}.baseline_window"),
                "only a PromQL source can look back over a window; a SQL or health source's baseline is the last value it read before the phase",
            ),
            Ok(_) => {}
        }
    }
    if let Some(v) = &g.min_sample {
        if !v.get_ref().is_finite() {
            r.at(v.span(), format!("{path}.min_sample"), "a finite number");
        }
    }
    for (field, d) in [("for", &g.for_), ("interval", &g.interval)] {
        if let Some(d) = d {
            if let Err(e) = parse_duration_ms(d.get_ref()) {
                r.at(d.span(), format!("{path}.{field}"), e);
            }
        }
    }
    if let Some(i) = &g.interval {
        if parse_duration_ms(i.get_ref()).is_ok_and(|ms| ms < 1_000) {
            r.at(i.span(), format!("{path}.interval"), "at least 1s");
        }
    }
    for (field, n) in [
        ("failure_limit", &g.failure_limit),
        ("inconclusive_limit", &g.inconclusive_limit),
        ("consecutive_error_limit", &g.consecutive_error_limit),
    ] {
        if let Some(n) = n {
            if !(0..=1_000).contains(n.get_ref()) {
                r.at(
                    n.span(),
                    format!("{path}.{field}"),
                    format!("{} is outside 0..=1000", n.get_ref()),
                );
            }
        }
    }
    if g.sample_query.is_some() != g.min_sample.is_some() {
        r.at(
            g.name.span(),
            format!("{path}.min_sample"),
            "sample_query and min_sample go together",
        );
    }
    if let Some(n) = &g.no_data {
        if !matches!(n.get_ref().as_str(), "fail" | "zero") {
            r.at(
                n.span(),
                format!("{path}.no_data"),
                "\"fail\" (no data is unhealthy) or \"zero\"",
            );
        }
    }
    if let Some(a) = &g.action {
        if !ACTIONS.contains(&a.get_ref().as_str()) {
            r.at(
                a.span(),
                format!("{path}.action"),
                format!(
                    "{:?}: use record, pause, rollback or emergency",
                    a.get_ref()
                ),
            );
        }
    }
}

/// Every guardrail, and names that differ.
pub fn check_all(r: &mut Report<'_>, guardrails: &[Spanned<GuardrailSpec>]) {
    let mut guardrail_names = std::collections::HashSet::new();
    for (i, g) in guardrails.iter().enumerate() {
        let g = g.get_ref();
        check(r, g, &format!("guardrails[{i}]"));
        if !guardrail_names.insert(g.name.get_ref().to_lowercase()) {
            r.at(
                g.name.span(),
                format!("guardrails[{i}].name"),
                format!("{:?} is used by an earlier guardrail", g.name.get_ref()),
            );
        }
    }
}

/// A bound of the healthy range: fixed, or `baseline × times + plus` with
/// the baseline captured before the phase started.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Fixed(f64),
    Baseline { times: f64, plus: f64 },
}

impl Bound {
    pub fn parse(spec: &BoundSpec) -> Result<Bound, String> {
        let hint = "a number, or \"baseline\", \"baseline * 1.10\", \"baseline + 0.5\", \"baseline - 0.5\"";
        let raw = match spec {
            BoundSpec::Number(n) if n.is_finite() => return Ok(Bound::Fixed(*n)),
            BoundSpec::Number(_) => return Err(format!("not a finite number; use {hint}")),
            BoundSpec::Text(t) => t.trim(),
        };
        let rest = raw
            .strip_prefix("baseline")
            .ok_or_else(|| format!("{raw:?}: use {hint}"))?
            .trim();
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("{raw:?}: use {hint}"))
        };
        let (times, plus) = match rest.chars().next() {
            None => (1.0, 0.0),
            Some('*') => (number(&rest[1..])?, 0.0),
            Some('+') => (1.0, number(&rest[1..])?),
            Some('-') => (1.0, -number(&rest[1..])?),
            Some(_) => return Err(format!("{raw:?}: use {hint}")),
        };
        Ok(Bound::Baseline { times, plus })
    }

    pub fn needs_baseline(self) -> bool {
        matches!(self, Bound::Baseline { .. })
    }

    /// The number, given the baseline (`None` without one when needed).
    pub fn resolve(self, baseline: Option<f64>) -> Option<f64> {
        match self {
            Bound::Fixed(n) => Some(n),
            Bound::Baseline { times, plus } => baseline.map(|b| b * times + plus),
        }
    }

    pub(in crate::plans) fn describe(self, baseline: Option<f64>) -> String {
        match (self, self.resolve(baseline)) {
            (Bound::Fixed(n), _) => number(n),
            (Bound::Baseline { times, plus }, resolved) => {
                let rel = match (times, plus) {
                    (1.0, 0.0) => "baseline".to_string(),
                    (t, 0.0) => format!("baseline × {}", number(t)),
                    (_, p) => format!(
                        "baseline {} {}",
                        if p < 0.0 { "−" } else { "+" },
                        number(p.abs())
                    ),
                };
                match (resolved, baseline) {
                    (Some(r), Some(b)) => format!("{} ({rel}, baseline {})", number(r), number(b)),
                    _ => rel,
                }
            }
        }
    }
}
