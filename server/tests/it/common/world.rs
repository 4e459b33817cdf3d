//! A seed-shaped world for the template walks: a PostgreSQL `demo` target,
//! a fixture application whose 5xx ratio the test controls, a real
//! Prometheus scraping it (`[prometheus.app]`), and the console on SQLite
//! with its guardrails reading both; plus moving the console's clock the way
//! the evaluator reads (`step`, `soak`).
use crate::common::Fetch;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::prometheus::{fixture_app_with, prometheus, Prometheus};
use super::team::{demo_target, sql, Team, HOUR};
use super::{Backend, TestApp, TestDb};
use serde_json::Value;
use server::config::TargetConfig;

pub const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{status=~"5.."}[5m])) or vector(0)) / sum(rate(http_requests_total[5m]))"#;
pub const P95: &str =
    "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))";

/// Prometheus's answer to an instant query, as JSON.
async fn instant(prometheus: &str, query: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", query)])
        .body_json()
        .await
}

pub struct World {
    pub app: TestApp,
    pub targets: BTreeMap<String, TargetConfig>,
    /// The fixture's 5xx ratio (f64 bits).
    pub ratio: Arc<AtomicU64>,
    pub prometheus: Prometheus,
    _target: TestDb,
}

pub async fn world() -> World {
    let ratio = Arc::new(AtomicU64::new(0.0002f64.to_bits()));
    let latency = Arc::new(AtomicU64::new(0.3f64.to_bits()));
    let prom = prometheus(fixture_app_with(ratio.clone(), latency).await).await;
    // Enough history that a rate and a p95 exist at any phase's start (the
    // baseline is the value Prometheus had then).
    for _ in 0..100 {
        let body = instant(&prom.url, P95).await;
        if body["data"]["result"][0]["value"][1]
            .as_str()
            .is_some_and(|v| v != "NaN")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (target, targets) = demo_target(20_000).await;
    // The data team fixed the rows seed 000 breaks on purpose.
    sql(
        &targets,
        "UPDATE projects_project SET course_code = 'C0' WHERE course_code IS NULL",
    )
    .await;
    sql(&targets, "UPDATE projects_project SET study_frequency = 'weekly' WHERE study_frequency NOT IN ('daily', 'weekly', 'monthly')").await;
    let url = prom.url.clone();
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets.clone());
        c.prometheus
            .insert("app".into(), crate::common::prometheus::source(url, 2_000));
    })
    .await;
    World {
        app,
        targets,
        ratio,
        prometheus: prom,
        _target: target,
    }
}

/// The guardrails' readings are this far apart in the walks: the shortest
/// interval the templates use.
pub const STEP_MS: i64 = 30_000;

impl World {
    /// Moves the console's clock by `ms` and waits until the evaluator has
    /// made a whole pass at the new time (every reading then due is taken).
    pub async fn step(&self, ms: i64) {
        let target = self.app.state.clock.now_ms() + ms;
        self.app.state.clock.advance(ms);
        let passes = &self.app.state.guardrail_passes;
        tokio::time::timeout(Duration::from_secs(20), passes.wait_through(target))
            .await
            .expect("the guardrail evaluator made a pass after the clock moved");
    }

    /// Lets `hours` of soak pass on `phase`, the guardrails' last `window`
    /// of it reading by reading (a gap is not healthy), then waits until
    /// every automatic item of the phase is met.
    pub async fn soak(&self, t: &Team<'_>, phase: &str, hours: i64, window_ms: i64) {
        self.let_pass(hours, window_ms).await;
        self.until_met(t, phase).await;
    }

    /// `hours` pass, the last `window` (and two minutes) of them step by step.
    pub async fn let_pass(&self, hours: i64, window_ms: i64) {
        // The phase's first readings (and its baselines) at its start.
        self.step(0).await;
        let read = window_ms + 2 * 60_000;
        self.app.state.clock.advance(hours * HOUR - read);
        for _ in 0..read / STEP_MS {
            self.step(STEP_MS).await;
        }
    }

    /// Sets the fixture's 5xx ratio and waits (real time: Prometheus rates
    /// over real minutes) until Prometheus reads the error rate above `over`.
    pub async fn error_spike(&self, ratio: f64, over: f64) {
        self.ratio
            .store(ratio.to_bits(), std::sync::atomic::Ordering::Relaxed);
        for _ in 0..300 {
            let body = instant(&self.prometheus.url, ERROR_RATE).await;
            let rate = body["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok());
            if rate.is_some_and(|r| r > over) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("Prometheus never read the error rate above {over}");
    }

    /// Waits (real time, briefly) until every automatic checklist item of
    /// `phase` is met; otherwise fails naming what is not, and what
    /// Prometheus says.
    pub async fn until_met(&self, t: &Team<'_>, phase: &str) {
        for _ in 0..50 {
            if t.unmet(phase).await.iter().all(|c| c == "manual") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let details: Vec<String> = t.phase(phase).await["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["met"] == false)
            .map(|i| format!("{}: {}", i["check"], i["detail"]))
            .collect();
        let body = instant(&self.prometheus.url, P95).await;
        panic!("{phase}: still unmet: {details:#?}; prometheus says {body}");
    }

    /// Every guardrail item of the plan, judged on readings (none skipped).
    pub fn guardrail_items(view: &Value) -> Vec<&Value> {
        view["phases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["checklist"].as_array().unwrap())
            .filter(|i| {
                i["check"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("guardrail_"))
            })
            .collect()
    }

    /// The flag's state in `environment`, as the plan page shows it.
    pub fn flag_in<'v>(view: &'v Value, environment: &str) -> &'v Value {
        view["flag"]["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["environment"] == environment)
            .unwrap()
    }
}
