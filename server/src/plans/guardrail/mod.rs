//! A guardrail with its defaults applied, and how one reading is judged:
//! fail closed. No data, an empty result, NaN or ±Inf, more than one series
//! or row, or a sample below the minimum is never healthy (no data reads as
//! 0 only when the guardrail says `no_data = "zero"`); a source that does
//! not answer is an error, which counts toward `consecutive_error_limit`.
pub mod environment;
pub mod measurements;
pub mod streak;
use crate::plans::file::duration::parse_duration_ms;
pub use crate::plans::file::guardrail_spec::Bound;
use crate::plans::file::guardrail_spec::GuardrailSpec;
use app::format::number;

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `shared`: the plan says this one source judges every environment
    /// (`environment`).
    Prometheus {
        server: String,
        query: String,
        shared: bool,
    },
    Sql {
        target: String,
        sql: String,
    },
    /// A built-in health signal of a PostgreSQL target
    /// (`backfill::health::Signal`).
    Health {
        target: String,
        signal: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GuardrailDef {
    pub name: String,
    /// Empty: every environment the plan rolls out in.
    pub environments: Vec<String>,
    pub source: Source,
    pub max: Option<Bound>,
    pub min: Option<Bound>,
    pub for_ms: i64,
    pub interval_ms: i64,
    pub failure_limit: i64,
    pub inconclusive_limit: i64,
    pub consecutive_error_limit: i64,
    /// The sample query and the least sample that makes a reading count.
    pub sample: Option<(String, f64)>,
    pub no_data_zero: bool,
    pub action: String,
    pub dry_run: bool,
    /// A baseline per phase start rather than one per rollout.
    pub baseline_per_phase: bool,
    /// PromQL: the baseline is the query's mean over this window before the
    /// capture (`None`: its value at that moment).
    pub baseline_window_ms: Option<i64>,
}

/// The key of a rollout's baseline in an environment (where a phase's is
/// its start time).
pub const ROLLOUT_BASELINE: i64 = 0;

impl GuardrailDef {
    pub fn from_spec(g: &GuardrailSpec) -> GuardrailDef {
        let ms = |d: &Option<toml::Spanned<String>>, default: i64| {
            d.as_ref()
                .and_then(|d| parse_duration_ms(d.get_ref()).ok())
                .unwrap_or(default)
        };
        let n = |v: &Option<toml::Spanned<i64>>, default: i64| {
            v.as_ref().map_or(default, |v| *v.get_ref())
        };
        let text = |v: &Option<toml::Spanned<String>>| {
            v.as_ref().map(|v| v.get_ref().clone()).unwrap_or_default()
        };
        GuardrailDef {
            name: g.name.get_ref().clone(),
            environments: g.environments.iter().map(|e| e.get_ref().clone()).collect(),
            source: match &g.prometheus {
                Some(p) => Source::Prometheus {
                    server: p.get_ref().clone(),
                    query: text(&g.query),
                    shared: g.shared_source,
                },
                None => match &g.health {
                    Some(h) => Source::Health {
                        target: text(&g.target),
                        signal: h.get_ref().clone(),
                    },
                    None => Source::Sql {
                        target: text(&g.target),
                        sql: text(&g.sql),
                    },
                },
            },
            max: g.max.as_ref().and_then(|v| Bound::parse(v.get_ref()).ok()),
            min: g.min.as_ref().and_then(|v| Bound::parse(v.get_ref()).ok()),
            for_ms: ms(&g.for_, 0),
            interval_ms: ms(&g.interval, 60_000),
            failure_limit: n(&g.failure_limit, 0),
            inconclusive_limit: n(&g.inconclusive_limit, 0),
            consecutive_error_limit: n(&g.consecutive_error_limit, 4),
            sample: g
                .sample_query
                .as_ref()
                .zip(g.min_sample.as_ref())
                .map(|(q, m)| (q.get_ref().clone(), *m.get_ref())),
            no_data_zero: g.no_data.as_ref().is_some_and(|n| n.get_ref() == "zero"),
            action: g
                .action
                .as_ref()
                .map_or("record".into(), |a| a.get_ref().clone()),
            dry_run: g.dry_run,
            baseline_per_phase: g.baseline.as_ref().is_some_and(|b| b.get_ref() == "phase"),
            baseline_window_ms: g
                .baseline_window
                .as_ref()
                .and_then(|w| parse_duration_ms(w.get_ref()).ok()),
        }
    }

    /// Which baseline a phase started at `phase_started_at_ms` judges
    /// against: its own, or the rollout's (`ROLLOUT_BASELINE`).
    pub fn baseline_key(&self, phase_started_at_ms: i64) -> i64 {
        if self.baseline_per_phase {
            phase_started_at_ms
        } else {
            ROLLOUT_BASELINE
        }
    }

    /// Watches `environment`.
    pub fn watches(&self, environment: &str) -> bool {
        self.environments.is_empty() || self.environments.iter().any(|e| e == environment)
    }

    /// A bound is relative to the baseline.
    pub fn needs_baseline(&self) -> bool {
        self.max.is_some_and(Bound::needs_baseline) || self.min.is_some_and(Bound::needs_baseline)
    }

    /// The healthy range, in words, given the baseline.
    pub fn threshold(&self, baseline: Option<f64>) -> String {
        let d = |b: Bound| b.describe(baseline);
        let range = match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("{} ≤ value ≤ {}", d(lo), d(hi)),
            (None, Some(hi)) => format!("value ≤ {}", d(hi)),
            (Some(lo), None) => format!("value ≥ {}", d(lo)),
            (None, None) => "no range".into(),
        };
        match self.baseline_window_ms.filter(|_| self.needs_baseline()) {
            Some(ms) => format!(
                "{range}; baseline: the mean over the {} before {}",
                if ms % 3_600_000 == 0 {
                    format!("{} h", ms / 3_600_000)
                } else if ms % 60_000 == 0 {
                    format!("{} min", ms / 60_000)
                } else {
                    app::format::duration_short(ms)
                },
                if self.baseline_per_phase {
                    "the phase"
                } else {
                    "the rollout"
                }
            ),
            None => range,
        }
    }
}

/// What a source answered: one value per series or row, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Values(Vec<f64>),
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Healthy,
    Failed,
    Inconclusive,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Healthy => "healthy",
            Outcome::Failed => "failed",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Outcome {
        match s {
            "healthy" => Outcome::Healthy,
            "inconclusive" => Outcome::Inconclusive,
            "error" => Outcome::Error,
            _ => Outcome::Failed,
        }
    }
}

/// One judged reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub outcome: Outcome,
    pub value: Option<f64>,
    pub sample: Option<f64>,
    pub detail: String,
}

/// The one finite number a reading holds, or why it does not.
fn single(reading: &Reading, zero_when_empty: bool) -> Result<f64, (Outcome, String)> {
    match reading {
        Reading::Error(e) => Err((Outcome::Error, e.clone())),
        Reading::Values(v) if v.is_empty() && zero_when_empty => Ok(0.0),
        Reading::Values(v) if v.is_empty() => Err((Outcome::Failed, "no data".into())),
        Reading::Values(v) if v.len() > 1 => Err((
            Outcome::Failed,
            format!("{} series or rows; a guardrail reads exactly one", v.len()),
        )),
        Reading::Values(v) if !v[0].is_finite() => Err((
            Outcome::Failed,
            format!("the value is {}, not a number", v[0]),
        )),
        Reading::Values(v) => Ok(v[0]),
    }
}

pub fn judge(
    def: &GuardrailDef,
    value: &Reading,
    sample: Option<&Reading>,
    baseline: Option<f64>,
) -> Judged {
    if let Reading::Error(e) = value {
        return judged(Outcome::Error, None, None, e.clone());
    }
    if def.needs_baseline() && baseline.is_none() {
        // What it read is kept: the reader sees it, and an operator may take
        // it as the baseline (`capture_baseline`).
        return judged(
            Outcome::Inconclusive,
            single(value, def.no_data_zero).ok(),
            None,
            "no baseline was captured before the phase started".into(),
        );
    }
    let mut sample_value = None;
    if let (Some((_, min_sample)), Some(sample)) = (&def.sample, sample) {
        match single(sample, false) {
            Err((Outcome::Error, e)) => {
                return judged(Outcome::Error, None, None, format!("sample: {e}"))
            }
            Err((_, why)) => {
                return judged(Outcome::Inconclusive, None, None, format!("sample: {why}"))
            }
            Ok(n) if n < *min_sample => {
                return judged(
                    Outcome::Inconclusive,
                    None,
                    Some(n),
                    format!("sample {n} is below the minimum {min_sample}"),
                )
            }
            Ok(n) => sample_value = Some(n),
        }
    }
    match single(value, def.no_data_zero) {
        Err((outcome, why)) => judged(outcome, None, sample_value, why),
        Ok(v) => {
            let hi = def.max.and_then(|b| b.resolve(baseline));
            let lo = def.min.and_then(|b| b.resolve(baseline));
            let ok = hi.is_none_or(|hi| v <= hi) && lo.is_none_or(|lo| v >= lo);
            let outcome = if ok {
                Outcome::Healthy
            } else {
                Outcome::Failed
            };
            let verb = if ok { "within" } else { "outside" };
            let range = def.threshold(baseline);
            judged(
                outcome,
                Some(v),
                sample_value,
                format!("{} is {verb} {range}", number(v)),
            )
        }
    }
}

fn judged(outcome: Outcome, value: Option<f64>, sample: Option<f64>, detail: String) -> Judged {
    Judged {
        outcome,
        value,
        sample,
        detail,
    }
}

#[cfg(test)]
impl GuardrailDef {
    /// A PromQL guardrail `error_rate` with the defaults (max 0.001, 10 s
    /// interval, limits 0/0/4, record): the tests' starting point.
    pub(crate) fn example() -> GuardrailDef {
        GuardrailDef {
            name: "error_rate".into(),
            environments: vec![],
            source: Source::Prometheus {
                server: "app".into(),
                query: "q".into(),
                shared: false,
            },
            max: Some(Bound::Fixed(0.001)),
            min: None,
            for_ms: 0,
            interval_ms: 10_000,
            failure_limit: 0,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            sample: None,
            no_data_zero: false,
            action: "record".into(),
            dry_run: false,
            baseline_per_phase: false,
            baseline_window_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::file::guardrail_spec::BoundSpec;

    fn def() -> GuardrailDef {
        GuardrailDef::example()
    }

    fn outcome(d: &GuardrailDef, r: Reading) -> Outcome {
        judge(d, &r, None, None).outcome
    }

    #[test]
    fn no_data_nan_inf_and_several_series_are_not_healthy() {
        let d = def();
        assert_eq!(outcome(&d, Reading::Values(vec![0.0005])), Outcome::Healthy);
        assert_eq!(outcome(&d, Reading::Values(vec![0.002])), Outcome::Failed);
        assert_eq!(
            outcome(&d, Reading::Values(vec![])),
            Outcome::Failed,
            "no data"
        );
        assert_eq!(
            outcome(&d, Reading::Values(vec![f64::NAN])),
            Outcome::Failed
        );
        assert_eq!(
            outcome(&d, Reading::Values(vec![f64::INFINITY])),
            Outcome::Failed
        );
        assert_eq!(
            outcome(&d, Reading::Values(vec![0.0, 0.0])),
            Outcome::Failed,
            "two series"
        );
        assert_eq!(
            outcome(&d, Reading::Error("timeout".into())),
            Outcome::Error
        );
        let zero = GuardrailDef {
            no_data_zero: true,
            ..def()
        };
        assert_eq!(outcome(&zero, Reading::Values(vec![])), Outcome::Healthy);
        let floor = GuardrailDef {
            min: Some(Bound::Fixed(0.7)),
            max: None,
            ..def()
        };
        assert_eq!(
            outcome(&floor, Reading::Values(vec![0.69])),
            Outcome::Failed
        );
    }

    #[test]
    fn a_sample_below_its_minimum_is_inconclusive() {
        let d = GuardrailDef {
            sample: Some(("requests".into(), 100.0)),
            ..def()
        };
        let value = Reading::Values(vec![0.0]);
        let j = judge_s(&d, &value, Some(&Reading::Values(vec![12.0])));
        assert_eq!(j.outcome, Outcome::Inconclusive);
        assert!(j.detail.contains("below the minimum 100"), "{}", j.detail);
        let j = judge_s(&d, &value, Some(&Reading::Values(vec![])));
        assert_eq!(j.outcome, Outcome::Inconclusive);
        let j = judge_s(&d, &value, Some(&Reading::Error("down".into())));
        assert_eq!(j.outcome, Outcome::Error);
        let j = judge_s(&d, &value, Some(&Reading::Values(vec![500.0])));
        assert_eq!((j.outcome, j.sample), (Outcome::Healthy, Some(500.0)));
    }

    fn judge_s(d: &GuardrailDef, v: &Reading, s: Option<&Reading>) -> Judged {
        judge(d, v, s, None)
    }

    #[test]
    fn bounds_relative_to_the_baseline() {
        let b = |t: &str| Bound::parse(&BoundSpec::Text(t.into()));
        assert_eq!(
            b("baseline * 1.10"),
            Ok(Bound::Baseline {
                times: 1.1,
                plus: 0.0
            })
        );
        assert_eq!(
            b("baseline + 0.5"),
            Ok(Bound::Baseline {
                times: 1.0,
                plus: 0.5
            })
        );
        assert_eq!(
            b("baseline"),
            Ok(Bound::Baseline {
                times: 1.0,
                plus: 0.0
            })
        );
        assert!(b("twice the baseline").is_err());
        assert!(b("baseline * x").is_err());
        let p95 = GuardrailDef {
            max: Some(Bound::Baseline {
                times: 1.1,
                plus: 0.0,
            }),
            ..def()
        };
        let v = Reading::Values(vec![0.5]);
        assert_eq!(
            judge(&p95, &v, None, None).outcome,
            Outcome::Inconclusive,
            "no baseline"
        );
        let down = Reading::Error("prometheus did not answer".into());
        assert_eq!(
            judge(&p95, &down, None, None).outcome,
            Outcome::Error,
            "down, not inconclusive"
        );
        assert_eq!(judge(&p95, &v, None, Some(0.5)).outcome, Outcome::Healthy);
        let j = judge(&p95, &v, None, Some(0.4));
        assert_eq!(j.outcome, Outcome::Failed);
        assert!(
            j.detail.contains("baseline × 1.1, baseline 0.4"),
            "{}",
            j.detail
        );
    }
}
