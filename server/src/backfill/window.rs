//! When a job may apply: a daily window in a named time zone (`window = {
//! from = "02:00", to = "04:00", time_zone = "Europe/Berlin" }`, the seeds'
//! off-peak hours). A run outside it waits before its next chunk and says
//! until when; one that crosses the window's end stops at the next chunk
//! boundary and waits for the next day's. A window may wrap midnight
//! (22:00–04:00). The time zone database is built in, so a console behaves
//! the same on every machine.
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;
use toml::Spanned;

use crate::problems::Report;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// `HH:MM`, local time in `time_zone`.
    pub from: Spanned<String>,
    /// `HH:MM`, excluded: the window closes then.
    pub to: Spanned<String>,
    /// An IANA name (`Europe/Berlin`, `UTC`).
    pub time_zone: Spanned<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Minutes after local midnight.
    from: i32,
    to: i32,
    time_zone: String,
}

fn minutes(text: &str) -> Option<i32> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && text.len() == 5).then_some(h * 60 + m)
}

pub fn check(r: &mut Report<'_>, w: &WindowSpec, path: &str) {
    for (field, v) in [("from", &w.from), ("to", &w.to)] {
        if minutes(v.get_ref()).is_none() {
            r.at(
                v.span(),
                format!("{path}.{field}"),
                format!("{:?}: a local time as HH:MM, 00:00 to 23:59", v.get_ref()),
            );
        }
    }
    if minutes(w.from.get_ref()).is_some() && w.from.get_ref() == w.to.get_ref() {
        r.at(
            w.to.span(),
            format!("{path}.to"),
            "the window must have a length: to differs from from",
        );
    }
    if TimeZone::get(w.time_zone.get_ref()).is_err() {
        r.at(
            w.time_zone.span(),
            format!("{path}.time_zone"),
            format!(
                "{:?} is not a time zone: use an IANA name such as \"Europe/Berlin\" or \"UTC\"",
                w.time_zone.get_ref()
            ),
        );
    }
}

impl Window {
    /// The window of a checked spec.
    pub fn of(w: &WindowSpec) -> Option<Window> {
        Some(Window {
            from: minutes(w.from.get_ref())?,
            to: minutes(w.to.get_ref())?,
            time_zone: w.time_zone.get_ref().clone(),
        })
    }

    /// `02:00–04:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        let hm = |m: i32| format!("{:02}:{:02}", m / 60, m % 60);
        format!("{}–{} {}", hm(self.from), hm(self.to), self.time_zone)
    }

    /// `None` while `now_ms` is inside the window; else when it next opens
    /// (Unix ms).
    pub fn opens_at(&self, now_ms: i64) -> Option<i64> {
        let tz = TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC);
        let now = Timestamp::from_millisecond(now_ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(tz);
        let m = i32::from(now.hour()) * 60 + i32::from(now.minute());
        let inside = if self.from < self.to {
            (self.from..self.to).contains(&m)
        } else {
            m >= self.from || m < self.to
        };
        if inside {
            return None;
        }
        let at = |day: jiff::civil::Date| {
            day.at((self.from / 60) as i8, (self.from % 60) as i8, 0, 0)
                .to_zoned(now.time_zone().clone())
                .ok()
        };
        let today = at(now.date()).filter(|z| z.timestamp() > now.timestamp());
        let next = today.or_else(|| now.date().checked_add(1.day()).ok().and_then(at))?;
        Some(next.timestamp().as_millisecond())
    }

    /// `2026-12-08 02:00 Europe/Berlin`, for a message.
    pub fn local(&self, ms: i64) -> String {
        let tz = TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC);
        Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
            .map(|t| format!("{t} {}", self.time_zone))
            .unwrap_or_default()
    }

    /// Why a run may not apply at `now_ms`, with when it may again.
    pub fn closed(&self, now_ms: i64) -> Option<(String, i64)> {
        let opens = self.opens_at(now_ms)?;
        Some((
            format!(
                "outside the job's window {}: waits until {}",
                self.describe(),
                self.local(opens)
            ),
            opens,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from: &str, to: &str, tz: &str) -> Window {
        Window {
            from: minutes(from).unwrap(),
            to: minutes(to).unwrap(),
            time_zone: tz.into(),
        }
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn inside_outside_and_the_next_opening_in_the_zone() {
        let w = window("02:00", "04:00", "Europe/Berlin");
        // 02:30 in Berlin (CET, UTC+1) is 01:30 UTC.
        assert_eq!(w.opens_at(ms("2026-12-08T01:30:00Z")), None);
        // 04:00 local is closed; it opens again the next day at 02:00.
        assert_eq!(
            w.opens_at(ms("2026-12-08T03:00:00Z")),
            Some(ms("2026-12-09T01:00:00Z"))
        );
        // Before it opens today.
        assert_eq!(
            w.opens_at(ms("2026-12-07T12:00:00Z")),
            Some(ms("2026-12-08T01:00:00Z"))
        );
        assert!(w
            .closed(ms("2026-12-07T12:00:00Z"))
            .unwrap()
            .0
            .contains("waits until 2026-12-08 02:00 Europe/Berlin"));
        // Summer time moves it an hour in UTC.
        assert_eq!(
            w.opens_at(ms("2026-07-01T12:00:00Z")),
            Some(ms("2026-07-02T00:00:00Z"))
        );
    }

    #[test]
    fn a_window_may_wrap_midnight() {
        let w = window("22:00", "04:00", "UTC");
        assert_eq!(w.opens_at(ms("2026-12-07T23:00:00Z")), None);
        assert_eq!(w.opens_at(ms("2026-12-08T03:59:00Z")), None);
        assert_eq!(
            w.opens_at(ms("2026-12-08T04:00:00Z")),
            Some(ms("2026-12-08T22:00:00Z"))
        );
    }

    #[test]
    fn bad_windows_are_refused_with_the_field() {
        for (from, to, tz, field) in [
            ("2:00", "04:00", "UTC", "from"),
            ("02:00", "24:00", "UTC", "to"),
            ("02:00", "02:00", "UTC", "to"),
            ("02:00", "04:00", "Mars/Olympus", "time_zone"),
        ] {
            let text = format!("from = \"{from}\"\nto = \"{to}\"\ntime_zone = \"{tz}\"\n");
            let spec: WindowSpec = toml::from_str(&text).unwrap();
            let mut report = Report {
                text: &text,
                problems: Vec::new(),
            };
            check(&mut report, &spec, "jobs[0].window");
            let paths: Vec<&str> = report.problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(
                paths,
                [format!("jobs[0].window.{field}")],
                "{from} {to} {tz}"
            );
        }
    }
}
