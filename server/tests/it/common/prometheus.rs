//! A real Prometheus for the tests (Debian's, on 127.0.0.1, scraping every
//! second) and a fixture application whose metrics the test controls.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// A fixture application: `/metrics` with the error ratio the test sets.
pub async fn fixture_app(ratio: Arc<AtomicU64>) -> u16 {
    fixture_app_with(ratio, Arc::new(AtomicU64::new(0.3f64.to_bits()))).await
}

/// The same, also serving the application's own metrics: requests (100 per
/// scrape, `ratio` of them 5xx) and their latency (`latency` seconds each).
pub async fn fixture_app_with(ratio: Arc<AtomicU64>, latency: Arc<AtomicU64>) -> u16 {
    // Cumulative counts since start: (requests, 5xx, observations per bucket, sum).
    let totals = Arc::new(std::sync::Mutex::new((0f64, 0f64, [0f64; 7], 0f64)));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let ratio = f64::from_bits(ratio.load(Ordering::Relaxed));
            let seconds = f64::from_bits(latency.load(Ordering::Relaxed));
            let mut t = totals.lock().unwrap();
            t.0 += 100.0;
            t.1 += 100.0 * ratio;
            for (k, le) in BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    t.2[k] += 100.0;
                }
            }
            t.3 += 100.0 * seconds;
            let mut out = format!("# TYPE app_error_ratio gauge\napp_error_ratio {ratio}\n");
            out += "# TYPE http_requests_total counter\n";
            out += &format!("http_requests_total{{status=\"200\"}} {}\n", t.0 - t.1);
            // A healthy application that never failed has no 5xx series at
            // all (an empty vector, not a zero): the templates' queries must
            // read that as 0 %.
            if t.1 > 0.0 {
                out += &format!("http_requests_total{{status=\"500\"}} {}\n", t.1);
            }
            out += "# TYPE http_request_duration_seconds histogram\n";
            for (k, le) in BUCKETS.iter().enumerate() {
                let le = if le.is_infinite() {
                    "+Inf".to_string()
                } else {
                    le.to_string()
                };
                out += &format!(
                    "http_request_duration_seconds_bucket{{le=\"{le}\"}} {}\n",
                    t.2[k]
                );
            }
            out += &format!(
                "http_request_duration_seconds_sum {}\nhttp_request_duration_seconds_count {}\n",
                t.3, t.0
            );
            async move { out }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

const BUCKETS: [f64; 7] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, f64::INFINITY];

pub struct Prometheus {
    child: std::process::Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fixture application reporting `value` (change it through the
/// returned cell), a Prometheus scraping it, and a console reading that
/// Prometheus as `[prometheus.app]`.
pub async fn console_over_fixture(value: f64) -> (Arc<AtomicU64>, Prometheus, super::TestApp) {
    let cell = Arc::new(AtomicU64::new(value.to_bits()));
    let prom = prometheus(fixture_app(cell.clone()).await).await;
    let app = console_reading(&prom.url, 2_000).await;
    (cell, prom, app)
}

/// A console on a fresh SQLite store whose `[prometheus.app]` is `url`,
/// answering within `timeout_ms`.
pub async fn console_reading(url: &str, timeout_ms: u64) -> super::TestApp {
    let url = url.to_string();
    super::TestApp::spawn_db_with(super::TestDb::new(super::Backend::Sqlite).await, |c| {
        c.prometheus.insert("app".into(), source(url, timeout_ms));
    })
    .await
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Prometheus scraping the fixture on `scrape_port` as the application of
/// every environment: once per environment, labelled `environment` (the
/// label the templates' queries select with `{{environment}}`).
pub async fn prometheus(scrape_port: u16) -> Prometheus {
    prometheus_scraping(&[
        (scrape_port, "dev"),
        (scrape_port, "staging"),
        (scrape_port, "production"),
    ])
    .await
}

/// Prometheus scraping each fixture port, labelled with its environment.
pub async fn prometheus_scraping(targets: &[(u16, &str)]) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    let mut yml = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n",
    );
    for (port, environment) in targets {
        yml += &format!(
            "      - targets: ['127.0.0.1:{port}']\n        labels: {{environment: {environment}}}\n"
        );
    }
    std::fs::write(&config, yml).unwrap();
    let port = free_port();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus is installed (scripts/setup test)");
    // Killed and waited for on every path from here (Drop), a panic included.
    let prom = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let url = prom.url.clone();
    let http = reqwest::Client::new();
    for _ in 0..200 {
        // Ready, and the fixture scraped once: the first reading has data.
        let scraped = http
            .get(format!("{url}/api/v1/query?query=app_error_ratio"))
            .send()
            .await;
        if let Ok(res) = scraped {
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if body["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                return prom;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prometheus did not become ready");
}

/// Fails unless `promtool check metrics` (Debian's `prometheus` package;
/// scripts/setup installs it) accepts `text` as a Prometheus exposition.
pub fn promtool_accepts(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is needed (Debian package `prometheus`; scripts/setup installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Prometheus server of the configuration at `url`, read with `timeout_ms`.
pub fn source(url: String, timeout_ms: u64) -> server::config::PrometheusConfig {
    server::config::PrometheusConfig {
        url,
        timeout_ms: Some(timeout_ms),
        ..Default::default()
    }
}

/// Waits until `prom` answers `query` with `value` (it scrapes about once a
/// second; a guardrail reading before then would judge the old value).
pub async fn until_scraped(prom: &Prometheus, query: &str, value: f64) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        let sent = client
            .get(format!("{}/api/v1/query", prom.url))
            .query(&[("query", query)])
            .send()
            .await;
        let answer = match sent {
            Ok(res) => res.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        };
        let read = answer
            .as_ref()
            .and_then(|a| a["data"]["result"][0]["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok());
        if read == Some(value) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{} never answered {query} with {value}", prom.url);
}
