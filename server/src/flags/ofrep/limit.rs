//! A rate limit per token: a bucket of `burst` requests refilled at
//! `per_sec`. A request finding it empty is refused with how long until the
//! next one fits (the 429's `Retry-After`).
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many tokens tracked; beyond it idle ones are dropped.
const MAX_TRACKED: usize = 10_000;

pub struct Limiter {
    per_sec: f64,
    burst: f64,
    /// Token id → (requests left, when last counted).
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    pub fn new(per_sec: u32, burst: u32) -> Limiter {
        Limiter {
            per_sec: f64::from(per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Counts a request of `token`; `Err(wait)` when it is over its limit.
    pub fn take(&self, token: &str) -> Result<(), Duration> {
        self.take_at(token, Instant::now())
    }

    fn take_at(&self, token: &str, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(token) {
            // A bucket that has refilled says nothing: dropping it loses nothing.
            let (full, rate) = (self.burst, self.per_sec);
            buckets.retain(|_, (left, at)| {
                *left + now.saturating_duration_since(*at).as_secs_f64() * rate < full
            });
            if buckets.len() >= MAX_TRACKED {
                buckets.clear();
            }
        }
        if !buckets.contains_key(token) {
            buckets.insert(token.to_string(), (self.burst, now));
        }
        let Some((left, at)) = buckets.get_mut(token) else {
            return Ok(());
        };
        let refilled = (*left + now.saturating_duration_since(*at).as_secs_f64() * self.per_sec)
            .min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *left = refilled - 1.0;
            Ok(())
        } else {
            *left = refilled;
            Err(Duration::from_secs_f64((1.0 - refilled) / self.per_sec))
        }
    }
}

/// `Retry-After` in whole seconds, at least 1 (a client may not retry sooner).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_its_burst_then_waits_for_the_refill_and_others_are_not_held() {
        let l = Limiter::new(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take_at("a", t0), Ok(()));
        }
        let wait = l.take_at("a", t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500), "one request per 0.5 s");
        assert_eq!(retry_after_secs(wait), 1);
        assert_eq!(
            l.take_at("b", t0),
            Ok(()),
            "another token has its own bucket"
        );
        assert_eq!(l.take_at("a", t0 + Duration::from_millis(500)), Ok(()));
        assert!(l.take_at("a", t0 + Duration::from_millis(600)).is_err());
    }
}
