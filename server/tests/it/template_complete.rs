//! The STI template, as shipped, walked to `completed` through the API on a
//! seed-shaped PostgreSQL target, with its guardrails reading a real
//! Prometheus that scrapes a fixture application (requests, 5xx, latency
//! the test controls): every automatic item evaluated, soaks passed on the
//! console's clock. A second walk raises the error rate in
//! "production 5 %": the system rolls production back to 0 %, and the audit
//! trail says why.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::prometheus::{fixture_app_with, prometheus, Prometheus};
use crate::common::team::{demo_target, sql, team, Team, HOUR};
use crate::common::{Backend, TestApp, TestDb};
use serde_json::{json, Value};
use server::config::PrometheusConfig;

struct World {
    app: TestApp,
    targets: std::collections::BTreeMap<String, server::config::TargetConfig>,
    ratio: Arc<AtomicU64>,
    _target: TestDb,
    _prometheus: Prometheus,
}

async fn world() -> World {
    let ratio = Arc::new(AtomicU64::new(0.0002f64.to_bits()));
    let latency = Arc::new(AtomicU64::new(0.3f64.to_bits()));
    let prom = prometheus(fixture_app_with(ratio.clone(), latency).await).await;
    // Enough history that a rate and a p95 exist at any phase's start (the
    // baseline is the value Prometheus had then).
    let http = reqwest::Client::new();
    let p95 =
        "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))";
    for _ in 0..100 {
        let body: Value = http
            .get(format!("{}/api/v1/query", prom.url))
            .query(&[("query", p95)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["data"]["result"][0]["value"][1]
            .as_str()
            .is_some_and(|v| v != "NaN")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (target, targets) = demo_target(20_000).await;
    // The data team fixed the rows the seed breaks on purpose.
    sql(
        &targets,
        "UPDATE projects_project SET course_code = 'C0' WHERE course_code IS NULL",
    )
    .await;
    sql(&targets, "UPDATE projects_project SET study_frequency = 'weekly' WHERE study_frequency NOT IN ('daily', 'weekly', 'monthly')").await;
    let url = prom.url.clone();
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets.clone());
        c.prometheus.insert(
            "app".into(),
            PrometheusConfig {
                url,
                timeout_ms: Some(2_000),
            },
        );
    })
    .await;
    World {
        app,
        targets,
        ratio,
        _target: target,
        _prometheus: prom,
    }
}

const JOBS: [&str; 2] = ["school", "self_study"];

/// Waits (real time) until every automatic checklist item of `phase` is met:
/// the evaluator reads the guardrails again after each move of the clock.
async fn until_met(t: &Team<'_>, phase: &str, prom: &str) {
    for _ in 0..100 {
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
    let q = "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))";
    let body = reqwest::Client::new()
        .get(format!("{prom}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    panic!("{phase}: still unmet: {details:#?}; prometheus says {body}");
}

async fn soak(w: &World, t: &Team<'_>, phase: &str, hours: i64) {
    // The guardrails read healthy now; the soak then lets their window pass.
    for _ in 0..100 {
        let p = t.phase(phase).await;
        let reading_healthy = p["checklist"].as_array().unwrap().iter().all(|i| {
            !i["check"]
                .as_str()
                .is_some_and(|c| c.starts_with("guardrail_"))
                || i["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("healthy"))
        });
        if reading_healthy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The soak at once, then the guardrails' window reading by reading
    // (30 s apart, as the evaluator reads them): a gap is not healthy.
    w.app.state.clock.advance(hours * HOUR - 11 * 60_000);
    for _ in 0..22 {
        w.app.state.clock.advance(30_000);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    until_met(t, phase, &w._prometheus.url).await;
}

/// dev → staging → production 5 % (started), as the seeds do it.
async fn to_production_5(w: &World, t: &Team<'_>) {
    assert_eq!(t.start("dev").await.0, 200);
    for job in JOBS {
        assert_eq!(t.run(job, "dry_run", "dev").await["errors"], 0);
    }
    t.tick_manual("dev").await;
    t.approve("dev", 1).await;
    w.app.state.clock.advance(48 * HOUR);

    t.tick_manual("staging").await;
    assert_eq!(t.start("staging").await.0, 200);
    for job in JOBS {
        t.run(job, "dry_run", "staging").await;
        t.run(job, "run", "staging").await;
        t.run(job, "verify", "staging").await;
    }
    t.tick_manual("staging").await;
    soak(w, t, "staging", 48).await;
    t.approve("staging", 1).await;

    t.tick_manual("production 5%").await;
    for job in JOBS {
        assert_eq!(t.run(job, "dry_run", "production").await["errors"], 0);
    }
    let (status, body) = t.start("production 5%").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sti_template_walks_to_completed_with_its_guardrails() {
    let w = world().await;
    let t = team(&w.app, "sti-backfill").await;
    to_production_5(&w, &t).await;
    t.tick_manual("production 5%").await;
    soak(&w, &t, "production 5%", 24).await;
    t.approve("production 5%", 2).await;
    for phase in ["production 25%", "production 50%"] {
        assert_eq!(t.start(phase).await.0, 200);
        soak(&w, &t, phase, 12).await;
        t.approve(phase, 1).await;
    }
    assert_eq!(t.start("production 100%").await.0, 200);
    for job in JOBS {
        t.run(job, "run", "production").await;
        assert_eq!(
            t.run(job, "verify", "production").await["result"]["coverage_full"],
            true
        );
    }
    t.tick_manual("production 100%").await;
    soak(&w, &t, "production 100%", 24).await;
    t.approve("production 100%", 2).await;

    // The column drop: a backup, and coverage verified within the last day.
    t.tick_manual("drop legacy columns").await;
    let (status, body) = t.start("drop legacy columns").await;
    assert_eq!(status, 400, "the last verify is a day old: {body}");
    for job in JOBS {
        t.run(job, "verify", "production").await;
    }
    assert_eq!(t.start("drop legacy columns").await.0, 200);
    t.tick_manual("drop legacy columns").await;
    t.approve("drop legacy columns", 2).await;
    t.ok(&t.olga, json!({"command": "complete"})).await;
    let view = t.view().await;
    assert_eq!(
        view["summary"]["status"], "completed",
        "{}",
        view["summary"]
    );
    // Every guardrail item was judged on readings, none skipped.
    let judged: Vec<&Value> = view["phases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["checklist"].as_array().unwrap())
        .filter(|i| {
            i["check"]
                .as_str()
                .is_some_and(|c| c.starts_with("guardrail_"))
        })
        .collect();
    assert!(
        judged.len() >= 8 && judged.iter().all(|i| i["evaluable"] == true),
        "{judged:?}"
    );
    w.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_spike_in_production_5_is_rolled_back_by_the_system() {
    let w = world().await;
    let t = team(&w.app, "sti-backfill").await;
    to_production_5(&w, &t).await;
    // 5xx at 5 %: the P0 line (1 % for 5 min, ten readings 30 s apart).
    w.ratio.store(0.05f64.to_bits(), Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    for _ in 0..40 {
        if t.phase("production 5%").await["status"] == "pending" {
            break;
        }
        w.app.state.clock.advance(31_000);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
    }
    let view = t.view().await;
    assert_eq!(
        t.phase("production 5%").await["status"],
        "pending",
        "rolled back"
    );
    let production = view["flag"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == "production")
        .unwrap()
        .clone();
    assert_eq!(production["exposure_bp"], 0, "{production}");
    assert_eq!(view["summary"]["status"], "active");
    let (actor, reason): (String, String) = sqlx::query_as(
        "SELECT actor_kind, details FROM audit_events WHERE action = 'plan.rollback.standard'",
    )
    .fetch_one(w.app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(actor, "system");
    assert!(
        reason.contains(r#"guardrail \"error_rate_p0\""#) && reason.contains("in production"),
        "{reason}"
    );
    let _ = &w.targets;
    w.app.stop().await;
}
