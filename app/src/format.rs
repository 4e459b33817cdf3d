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

/// A whole number with thousands separators: 50000 → "50,000".
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A measured number as a person reads it: at most four significant digits
/// below 1,000 (0.053625000000000006 → "0.05363", 0.001 → "0.001"),
/// thousands separators above (1234567.8 → "1,234,568"); non-finite values
/// as Rust writes them.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() >= 1000.0 {
        return grouped(v.round() as i64);
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
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

/// The `utc_datetime` texts in `text`, as (byte range, unix milliseconds).
pub fn utc_datetimes_in(text: &str) -> Vec<(std::ops::Range<usize>, i64)> {
    const LEN: usize = "1970-01-01 00:00:00 UTC".len();
    let mut found = Vec::new();
    let mut i = 0;
    while i + LEN <= text.len() {
        if let Some(ms) = text.get(i..i + LEN).and_then(parse_utc_datetime) {
            found.push((i..i + LEN, ms));
            i += LEN;
        } else {
            i += 1;
        }
    }
    found
}

/// The inverse of [`utc_datetime`]: `YYYY-MM-DD HH:MM:SS UTC` to unix ms.
pub fn parse_utc_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-dd dd:dd:dd UTC";
    if b.len() != shape.len()
        || !b.iter().zip(shape).all(|(c, want)| match want {
            b'd' => c.is_ascii_digit(),
            _ => c == want,
        })
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    Some(((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000)
}

/// A proleptic Gregorian date to days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(0.053625000000000006), "0.05363");
        assert_eq!(number(0.001), "0.001");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.35), "0.35");
        assert_eq!(number(123.456), "123.5");
        assert_eq!(number(1234567.8), "1,234,568");
        assert_eq!(number(-0.5), "-0.5");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "NaN");
    }

    #[test]
    fn formats_epoch_and_known_dates() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(utc_datetime(1_709_210_096_000), "2024-02-29 12:34:56 UTC");
        assert_eq!(utc_datetime(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn parses_what_it_formats() {
        for ms in [
            0,
            1_709_210_096_000,
            -1000,
            1_796_291_704_000,
            951_782_400_000,
        ] {
            assert_eq!(parse_utc_datetime(&utc_datetime(ms)), Some(ms));
        }
        assert_eq!(parse_utc_datetime("2024-13-01 00:00:00 UTC"), None);
        assert_eq!(parse_utc_datetime("2024-02-29 12:34:56 CET"), None);
        let text =
            "must soak 2 h more (until 2024-02-29 12:34:56 UTC); since 1970-01-01 00:00:00 UTC";
        let found = utc_datetimes_in(text);
        assert_eq!(found.len(), 2);
        assert_eq!(&text[found[0].0.clone()], "2024-02-29 12:34:56 UTC");
        assert_eq!(found[0].1, 1_709_210_096_000);
        assert_eq!(found[1].1, 0);
        assert!(utc_datetimes_in("é 2024-02-29 12:34:5 UTC").is_empty());
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
