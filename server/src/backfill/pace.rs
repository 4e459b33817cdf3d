//! How fast a job goes, as pure functions: the next chunk size from the last
//! chunk's duration, and the pause that keeps the rate under its ceiling.
use std::time::Duration;

pub const MIN_CHUNK: i64 = 10;
pub const MAX_CHUNK: i64 = 50_000;

/// The chunk size a person may ask for (plan file, start, retune, CLI).
pub const CHUNK_LIMITS: std::ops::RangeInclusive<i64> = 1..=100_000;
/// The rows/s ceiling a person may set; 0 is no ceiling.
pub const RATE_LIMITS: std::ops::RangeInclusive<i64> = 0..=10_000_000;

/// The one check of a requested chunk size, wherever it comes from.
pub fn check_chunk(chunk: Option<i64>) -> Result<(), String> {
    check_within("chunk", chunk, &CHUNK_LIMITS, "keys per chunk")
}

/// The one check of a requested rows/s ceiling.
pub fn check_rate(rate: Option<i64>) -> Result<(), String> {
    check_within("max_rows_per_sec", rate, &RATE_LIMITS, "0 = no ceiling")
}

fn check_within(
    field: &str,
    value: Option<i64>,
    limits: &std::ops::RangeInclusive<i64>,
    meaning: &str,
) -> Result<(), String> {
    match value {
        Some(v) if !limits.contains(&v) => Err(format!(
            "{field}: {v} is outside {}..={} ({meaning})",
            limits.start(),
            limits.end()
        )),
        _ => Ok(()),
    }
}

/// The next chunk size, aiming at `target_ms` of lock hold per chunk: the
/// recent rate (`keys_per_ms`, e.g. smoothed over the last chunks) times the
/// target, at most doubling or halving `current` per step, within
/// `MIN_CHUNK..=MAX_CHUNK`.
pub fn next_chunk(current: i64, keys_per_ms: f64, target_ms: i64) -> i64 {
    if !keys_per_ms.is_finite() || keys_per_ms <= 0.0 {
        return (current * 2).clamp(MIN_CHUNK, MAX_CHUNK);
    }
    let ideal = keys_per_ms * target_ms as f64;
    let bounded = ideal.clamp(current as f64 / 2.0, current as f64 * 2.0);
    (bounded.round() as i64).clamp(MIN_CHUNK, MAX_CHUNK)
}

/// The rate the next chunks are sized by: the newest chunk's (`keys` in
/// `hold_ms`) averaged half and half with the earlier estimate, so one slow
/// or quick chunk moves the size less.
pub fn smoothed_rate(earlier: Option<f64>, keys: i64, hold_ms: f64) -> Option<f64> {
    if hold_ms <= 0.0 {
        return earlier;
    }
    let now = keys as f64 / hold_ms;
    Some(earlier.map_or(now, |e| (e + now) / 2.0))
}

/// How long to wait after a chunk of `rows` that took `elapsed` so the rate
/// stays at or under `max_rows_per_sec` (0 = no ceiling), plus `pause_ms`.
pub fn pause_after(rows: i64, elapsed: Duration, max_rows_per_sec: i64, pause_ms: i64) -> Duration {
    let mut wait = Duration::from_millis(pause_ms.max(0) as u64);
    if max_rows_per_sec > 0 && rows > 0 {
        let budget = Duration::from_secs_f64(rows as f64 / max_rows_per_sec as f64);
        wait += budget.saturating_sub(elapsed);
    }
    wait
}

/// Retry back-off: 100 ms, 200 ms, 400 ms … capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(6)).min(5_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_size_moves_toward_the_target_duration_within_bounds() {
        assert_eq!(next_chunk(1000, 10.0, 200), 2000, "twice too fast: double");
        assert_eq!(next_chunk(1000, 2.5, 200), 500, "twice too slow: halve");
        assert_eq!(next_chunk(1000, 0.1, 200), 500, "at most halves per step");
        assert_eq!(
            next_chunk(1000, 1000.0, 200),
            2000,
            "at most doubles per step"
        );
        assert_eq!(next_chunk(1000, 4.0, 200), 800);
        assert_eq!(next_chunk(15, 0.0015, 200), MIN_CHUNK);
        assert_eq!(
            next_chunk(4000, 30.0, 80),
            2400,
            "sized by the rate of the chunk measured, not the current size"
        );
        assert_eq!(smoothed_rate(None, 1000, 100.0), Some(10.0));
        assert_eq!(smoothed_rate(Some(10.0), 3000, 100.0), Some(20.0));
        assert_eq!(smoothed_rate(Some(10.0), 3000, 0.0), Some(10.0));
        assert_eq!(next_chunk(40_000, 40000.0, 200), MAX_CHUNK);
    }

    #[test]
    fn the_rate_ceiling_and_pause_add_up() {
        let d = pause_after(1000, Duration::from_millis(100), 5000, 0);
        assert_eq!(
            d,
            Duration::from_millis(100),
            "1000 rows at 5000/s take 200 ms"
        );
        assert_eq!(
            pause_after(1000, Duration::from_millis(300), 5000, 0),
            Duration::ZERO
        );
        assert_eq!(
            pause_after(1000, Duration::from_millis(300), 0, 50),
            Duration::from_millis(50)
        );
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(20), Duration::from_millis(5_000));
    }
}
