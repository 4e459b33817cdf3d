//! What the automatic items of a plan judge: its backfill runs (the
//! engine's `JobFacts`) and its guardrails' measurements.
use crate::backfill::facts::JobFacts;
use crate::plans::guardrail::measurements::Measurement;
use crate::plans::guardrail::{GuardrailDef, Outcome};

#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub jobs: JobFacts,
    pub guardrails: GuardrailFacts,
}

#[derive(Debug, Clone, Default)]
pub struct GuardrailFacts {
    /// The guardrails the plan file declares.
    pub declared: Vec<GuardrailDef>,
    /// Their measurements over [`GuardrailFacts::window_ms`], newest first.
    pub measurements: Vec<Measurement>,
    /// The newest reading of each in each environment, whatever its age
    /// (read for the plan page only; commands judge on `measurements`).
    pub latest: Vec<Measurement>,
}

/// A reading older than two intervals (and this slack) is stale: the
/// guardrail is not being measured, which is not healthy.
const STALE_SLACK_MS: i64 = 5_000;

impl GuardrailFacts {
    /// How far back an item's judgement reads: the longest `for` window
    /// plus two intervals and the slack, so a guardrail healthy throughout
    /// shows a streak at least its window long (at most a day).
    pub fn window_ms(declared: &[GuardrailDef]) -> i64 {
        declared
            .iter()
            .map(|g| g.for_ms + 2 * g.interval_ms + STALE_SLACK_MS)
            .max()
            .unwrap_or(0)
            .min(24 * 3_600_000)
    }

    /// Judges `check = "guardrail_NAME"` for a phase in `environment`: met
    /// while its readings there (since `since_ms`, the phase's start, when
    /// it started) have been healthy for its `for` window, up to a fresh one.
    /// `None` when the plan declares no such guardrail.
    pub fn judge(
        &self,
        name: &str,
        (environment, since_ms): (&str, Option<i64>),
        now_ms: i64,
    ) -> Option<(bool, String)> {
        let def = self.declared.iter().find(|g| g.name == name)?;
        if !def.watches(environment) {
            return Some((
                false,
                format!("guardrail {name:?} does not watch {environment}"),
            ));
        }
        let mut readings = self
            .measurements
            .iter()
            .filter(|m| m.guardrail == name && m.environment == environment)
            .filter(|m| since_ms.is_none_or(|s| m.at_ms >= s));
        let Some(newest) = readings.next() else {
            return Some((false, format!("not measured in {environment} yet")));
        };
        if now_ms - newest.at_ms > 2 * def.interval_ms + STALE_SLACK_MS {
            let at = app::format::utc_datetime(newest.at_ms);
            return Some((
                false,
                format!("no reading since {at}: not measured, not healthy"),
            ));
        }
        if newest.outcome != Outcome::Healthy {
            let what = newest.outcome.as_str();
            return Some((false, format!("{what}: {}", from(newest))));
        }
        // The streak of healthy readings up to the newest; a gap of more
        // than two intervals (nobody measured) ends it as a failure would.
        let mut since = newest.at_ms;
        for m in readings {
            if m.outcome != Outcome::Healthy
                || since - m.at_ms > 2 * def.interval_ms + STALE_SLACK_MS
            {
                break;
            }
            since = m.at_ms;
        }
        let healthy_for = now_ms - since;
        let detail = from(newest);
        Some(if healthy_for >= def.for_ms {
            (
                true,
                format!("healthy for {} s: {detail}", healthy_for / 1000),
            )
        } else {
            let left = (def.for_ms - healthy_for + 999) / 1000;
            (false, format!("healthy, {left} s more to go: {detail}"))
        })
    }
}

/// A reading's detail with where it was read from, when recorded: the
/// evidence an approver reads says which environment's source it came from.
fn from(m: &Measurement) -> String {
    match &m.read_from {
        Some((source, _)) => format!("{} · read from {source}", m.detail),
        None => m.detail.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::guardrail::Source;

    fn facts(readings: &[(i64, Outcome)], for_ms: i64) -> GuardrailFacts {
        GuardrailFacts {
            declared: vec![GuardrailDef {
                name: "lag".into(),
                environments: vec!["production".into()],
                source: Source::Sql {
                    target: "t".into(),
                    sql: "SELECT 1".into(),
                },
                max: Some(crate::plans::guardrail::Bound::Fixed(10.0)),
                for_ms,
                ..GuardrailDef::example()
            }],
            // Newest first, as the store gives them.
            measurements: readings
                .iter()
                .rev()
                .map(|(at, outcome)| Measurement {
                    plan_id: "p".into(),
                    guardrail: "lag".into(),
                    environment: "production".into(),
                    at_ms: *at,
                    value: Some(1.0),
                    sample: None,
                    bounds: (None, Some(10.0)),
                    threshold: "value ≤ 10".into(),
                    outcome: *outcome,
                    detail: "1 is within value ≤ 10".into(),
                    read_from: None,
                })
                .collect(),
            latest: Vec::new(),
        }
    }

    #[test]
    fn the_window_covers_the_longest_for_and_two_intervals() {
        let g = |for_ms, interval_ms| GuardrailDef {
            for_ms,
            interval_ms,
            ..GuardrailDef::example()
        };
        assert_eq!(GuardrailFacts::window_ms(&[]), 0);
        assert_eq!(
            GuardrailFacts::window_ms(&[g(600_000, 30_000), g(0, 10_000)]),
            600_000 + 60_000 + STALE_SLACK_MS
        );
        assert_eq!(
            GuardrailFacts::window_ms(&[g(10 * 86_400_000, 30_000)]),
            86_400_000
        );
    }

    #[test]
    fn the_items_detail_says_where_the_reading_came_from() {
        use Outcome::*;
        let mut f = facts(&[(1_000, Healthy)], 0);
        let scope = ("production", None);
        assert_eq!(
            f.judge("lag", scope, 2_000).unwrap().1,
            "healthy for 1 s: 1 is within value ≤ 10"
        );
        f.measurements[0].read_from = Some(("target t".into(), "SELECT 1".into()));
        assert_eq!(
            f.judge("lag", scope, 2_000).unwrap().1,
            "healthy for 1 s: 1 is within value ≤ 10 · read from target t"
        );
        f.measurements[0].outcome = Failed;
        assert!(f
            .judge("lag", scope, 2_000)
            .unwrap()
            .1
            .ends_with("· read from target t"));
    }

    #[test]
    fn met_only_when_healthy_for_the_window_and_fresh() {
        use Outcome::*;
        let f = facts(
            &[
                (0, Failed),
                (10_000, Healthy),
                (20_000, Healthy),
                (30_000, Healthy),
            ],
            15_000,
        );
        assert!(
            f.judge("lag", ("production", None), 30_000).unwrap().0,
            "healthy since 10 s, for 15 s at 30 s"
        );
        let (met, why) = f.judge("lag", ("production", None), 20_000).unwrap();
        assert!(!met && why.contains("more to go"), "{why}");
        let (met, why) = f.judge("lag", ("production", None), 90_000).unwrap();
        assert!(!met && why.contains("not measured"), "stale: {why}");
        let (met, why) = f.judge("lag", ("staging", None), 30_000).unwrap();
        assert!(!met && why.contains("does not watch staging"), "{why}");
        let (met, why) = f
            .judge("lag", ("production", Some(25_000)), 30_000)
            .unwrap();
        assert!(
            !met && why.contains("more to go"),
            "only this phase's readings: {why}"
        );
        let gap = facts(
            &[(0, Healthy), (60_000, Healthy), (70_000, Healthy)],
            15_000,
        );
        let (met, why) = gap.judge("lag", ("production", None), 70_000).unwrap();
        assert!(
            !met && why.contains("more to go"),
            "a gap breaks the streak: {why}"
        );
        let f = facts(&[(10_000, Healthy), (20_000, Error)], 0);
        assert!(
            !f.judge("lag", ("production", None), 20_000).unwrap().0,
            "an error is not healthy"
        );
        assert!(
            f.judge("other", ("production", None), 0).is_none(),
            "not declared"
        );
        let f = facts(&[], 0);
        assert!(
            !f.judge("lag", ("production", None), 0).unwrap().0,
            "never measured"
        );
    }
}
