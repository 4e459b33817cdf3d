//! Pure formatting helpers shared by server and browser (no clock, no I/O).

/// Formats unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_datetime(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A duration in milliseconds as a short human figure: `45s`, `12m 3s`, `3h 4m`, `2d 5h`.
pub fn duration_short(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_known_dates() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(utc_datetime(1_709_210_096_000), "2024-02-29 12:34:56 UTC");
        assert_eq!(utc_datetime(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn short_durations() {
        assert_eq!(duration_short(-5), "0s");
        assert_eq!(duration_short(59_999), "59s");
        assert_eq!(duration_short(61_000), "1m 1s");
        assert_eq!(duration_short(3_660_000), "1h 1m");
        assert_eq!(duration_short(90_000_000), "1d 1h");
    }
}
