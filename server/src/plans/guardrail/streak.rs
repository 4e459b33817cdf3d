//! When a guardrail acts: a streak of readings of one outcome (failed,
//! error, inconclusive) that passes its limit, once per streak.
use crate::plans::guardrail::{GuardrailDef, Outcome};

/// Why a guardrail acts: a streak of readings of one outcome over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub outcome: Outcome,
    pub readings: i64,
}

/// The trigger `readings` (newest first, this phase's) hold, if any: more
/// failed readings in a row than `failure_limit` lasting at least `for`,
/// more errors in a row than `consecutive_error_limit`, or more
/// inconclusive readings in a row than `inconclusive_limit`.
fn trigger(def: &GuardrailDef, readings: &[(i64, Outcome)]) -> Option<Trigger> {
    let (newest_at, outcome) = *readings.first()?;
    let limit = match outcome {
        Outcome::Healthy => return None,
        Outcome::Failed => def.failure_limit,
        Outcome::Error => def.consecutive_error_limit,
        Outcome::Inconclusive => def.inconclusive_limit,
    };
    let streak: Vec<i64> = readings
        .iter()
        .take_while(|(_, o)| *o == outcome)
        .map(|(at, _)| *at)
        .collect();
    let lasted = newest_at - streak.last().copied().unwrap_or(newest_at);
    let long_enough = outcome != Outcome::Failed || lasted >= def.for_ms;
    (streak.len() as i64 > limit && long_enough).then_some(Trigger {
        outcome,
        readings: streak.len() as i64,
    })
}

/// Whether the newest reading makes the guardrail act now: its trigger
/// holds and did not hold a reading earlier. A streak acts once; a value
/// that flaps around the threshold acts at most once per streak.
pub fn acts_now(def: &GuardrailDef, readings: &[(i64, Outcome)]) -> Option<Trigger> {
    let now = trigger(def, readings)?;
    let before = readings.get(1..).and_then(|rest| trigger(def, rest));
    before.is_none().then_some(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> GuardrailDef {
        GuardrailDef::example()
    }

    #[test]
    fn a_streak_acts_once_when_it_passes_its_limit() {
        use Outcome::*;
        let d = GuardrailDef {
            failure_limit: 1,
            consecutive_error_limit: 2,
            ..def()
        };
        // Newest first.
        assert_eq!(
            acts_now(&d, &[(10, Failed)]),
            None,
            "1 failure is within the limit"
        );
        let t = acts_now(&d, &[(20, Failed), (10, Failed)]).unwrap();
        assert_eq!((t.outcome, t.readings), (Failed, 2));
        assert_eq!(
            acts_now(&d, &[(30, Failed), (20, Failed), (10, Failed)]),
            None,
            "once"
        );
        assert_eq!(
            acts_now(&d, &[(30, Failed), (20, Healthy), (10, Failed)]),
            None,
            "flapping"
        );
        assert_eq!(acts_now(&d, &[(30, Error), (20, Error)]), None);
        assert_eq!(
            acts_now(&d, &[(30, Error), (20, Error), (10, Error)])
                .unwrap()
                .outcome,
            Error
        );
        let lasting = GuardrailDef { for_ms: 15, ..d };
        assert_eq!(
            acts_now(&lasting, &[(20, Failed), (10, Failed)]),
            None,
            "not for 15 yet"
        );
        assert!(acts_now(&lasting, &[(25, Failed), (20, Failed), (10, Failed)]).is_some());
    }
}
