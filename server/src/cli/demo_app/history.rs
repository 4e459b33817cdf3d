//! Hours of the demo application's metrics as it would have been scraped,
//! in OpenMetrics for `promtool tsdb create-blocks-from openmetrics`, so a
//! new demo's Prometheus holds the days its guardrails' baselines and
//! windows look back on: every scrape `up`, the requests by status and
//! their durations (the old code path: the flag was off in these hours).
use std::io::{self, Write};

use super::model;

/// The histogram's buckets (the console's own, `crate::metrics`).
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One scraped application: its environment and its address.
pub struct Scraped {
    pub environment: String,
    pub instance: String,
}

impl Scraped {
    fn labels(&self) -> String {
        format!(
            "environment=\"{}\",instance=\"{}\",job=\"demo-app\"",
            self.environment, self.instance
        )
    }
}

/// Writes the series of `apps` from `from_s` to `to_s` (Unix seconds), a
/// sample every `step_s`, at `rate` requests per second (give or take 5 %,
/// drawn from `seed`).
pub fn write(
    out: &mut impl Write,
    apps: &[Scraped],
    (from_s, to_s, step_s): (i64, i64, i64),
    rate: f64,
    seed: u64,
) -> io::Result<()> {
    let times: Vec<i64> = (0..)
        .map(|k| from_s + k * step_s)
        .take_while(|t| *t <= to_s)
        .collect();
    // Requests so far, per app and sample.
    let mut rng = fastrand::Rng::with_seed(seed);
    let counts: Vec<Vec<f64>> = apps
        .iter()
        .map(|_| {
            let mut total = 0.0;
            times
                .iter()
                .map(|_| {
                    total += (rate * step_s as f64 * rng.f64().mul_add(0.1, 0.95)).round();
                    total
                })
                .collect()
        })
        .collect();
    let route = "method=\"GET\",route=\"/api/projects/{id}\",status=\"200\"";
    writeln!(out, "# TYPE up gauge")?;
    for app in apps {
        for t in &times {
            writeln!(out, "up{{{}}} 1 {t}", app.labels())?;
        }
    }
    writeln!(out, "# TYPE http_requests counter")?;
    for (app, counts) in apps.iter().zip(&counts) {
        for (t, n) in times.iter().zip(counts) {
            writeln!(
                out,
                "http_requests_total{{{},{route}}} {n} {t}",
                app.labels()
            )?;
        }
    }
    writeln!(out, "# TYPE http_request_duration_seconds histogram")?;
    for (app, counts) in apps.iter().zip(&counts) {
        let labels = format!("{},{route}", app.labels());
        for le in BUCKETS {
            for (t, n) in times.iter().zip(counts) {
                let within = (n * model::share_within(le)).floor();
                writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {within} {t}"
                )?;
            }
        }
        for (t, n) in times.iter().zip(counts) {
            writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {n} {t}"
            )?;
        }
        for (t, n) in times.iter().zip(counts) {
            writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {n} {t}"
            )?;
        }
        for (t, n) in times.iter().zip(counts) {
            let sum = n * model::mean_s();
            writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {sum} {t}"
            )?;
        }
    }
    writeln!(out, "# EOF")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_rises_and_the_file_ends_as_openmetrics_must() {
        let apps = [Scraped {
            environment: "staging".into(),
            instance: "127.0.0.1:3101".into(),
        }];
        let mut out = Vec::new();
        write(&mut out, &apps, (1_000, 1_090, 30), 10.0, 7).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("# EOF\n"));
        let counts: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with("http_requests_total{"))
            .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(counts.len(), 4);
        assert!(counts.windows(2).all(|w| w[1] > w[0]), "{counts:?}");
        assert!((285.0..=315.0).contains(&counts[0]), "{counts:?}");
        assert!(text.contains(
            "up{environment=\"staging\",instance=\"127.0.0.1:3101\",job=\"demo-app\"} 1 1090"
        ));
        // Le 0.1 holds about 96 % of the requests (p95 about 90 ms).
        let within: f64 = text
            .lines()
            .find(|l| l.contains("le=\"0.1\"") && l.ends_with(" 1000"))
            .and_then(|l| l.split(' ').nth(1))
            .unwrap()
            .parse()
            .unwrap();
        assert!((within / counts[0] - 0.966).abs() < 0.01, "{within}");
    }
}
