//! How the demo application behaves, shared by the running application and
//! the history it writes for Prometheus: a request takes 15 ms plus an
//! exponentially distributed 25 ms on average (p95 about 90 ms); the new
//! code path (the flag on) is 4 % slower; with the failure switch on, every
//! request on the new code path answers 500. So the error rate is the share
//! of traffic the flag exposes while the switch is on, and the rollback that
//! turns the flag off heals the application.

/// Seconds on the old code path before the exponential part.
const FLOOR_S: f64 = 0.015;
/// The exponential part's mean.
const MEAN_S: f64 = 0.025;
/// How much slower the new code path is.
const NEW_PATH: f64 = 1.04;

/// A request's duration, `u` drawn uniformly from [0, 1).
pub fn latency_s(u: f64, new_path: bool) -> f64 {
    let old = FLOOR_S - MEAN_S * (1.0 - u).ln();
    if new_path {
        old * NEW_PATH
    } else {
        old
    }
}

/// The share of requests on the old code path that take at most `le`
/// seconds (the histogram's bucket), for the history.
pub fn share_within(le: f64) -> f64 {
    if le <= FLOOR_S {
        0.0
    } else {
        1.0 - (-(le - FLOOR_S) / MEAN_S).exp()
    }
}

/// The mean duration on the old code path (the histogram's `_sum`).
pub fn mean_s() -> f64 {
    FLOOR_S + MEAN_S
}

pub fn fails(new_path: bool, failing: bool) -> bool {
    new_path && failing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_p95_is_about_90_ms_and_the_new_path_is_a_little_slower() {
        let p95 = latency_s(0.95, false);
        assert!((0.085..0.095).contains(&p95), "{p95}");
        assert!(latency_s(0.95, true) > p95 * 1.03);
        assert!((share_within(p95) - 0.95).abs() < 1e-9);
        assert_eq!(share_within(0.01), 0.0);
    }

    #[test]
    fn only_the_new_path_fails_and_only_while_the_switch_is_on() {
        assert!(fails(true, true));
        assert!(!fails(false, true));
        assert!(!fails(true, false));
    }
}
