//! Durations in plan files (soaks, evidence ages): `0`, `90s`, `30m`,
//! `24h`, `2d`, at most a year.

/// The longest duration a plan may give (a soak, an age): a year. Beyond it
/// the arithmetic on timestamps could overflow, and no rollout waits longer.
pub const MAX_DURATION_MS: i64 = 365 * 86_400_000;

/// `0`, `90s`, `30m`, `24h`, `2d` → milliseconds, at most a year.
pub fn parse_duration_ms(raw: &str) -> Result<i64, String> {
    let s = raw.trim();
    if s == "0" {
        return Ok(0);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration; use e.g. 0, 30m, 24h, 2d"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "{raw:?} is not a duration; use e.g. 0, 30m, 24h, 2d"
            ))
        }
    };
    n.checked_mul(unit_ms)
        .filter(|ms| *ms <= MAX_DURATION_MS)
        .ok_or_else(|| format!("{s:.40} is longer than a year (365d), the longest a plan may wait"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("24h"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert!(parse_duration_ms("24").is_err());
        assert!(parse_duration_ms("h").is_err());
        assert_eq!(parse_duration_ms("365d"), Ok(MAX_DURATION_MS));
        // Once accepted, it overflowed "started + soak" (soak elapsed at once).
        let e = parse_duration_ms("106751991167d").unwrap_err();
        assert!(e.contains("longer than a year"), "{e}");
        assert!(parse_duration_ms("366d").is_err());
    }
}
