//! A guardrail whose bound is relative to a baseline reads inconclusive
//! when none was captured before its phase started (its source was added
//! later, or could not answer then). An operator captures one by hand from
//! its newest reading, with a reason: audited, never replaced, and the
//! guardrail judges against it from its next reading. Viewers cannot.
use std::time::{Duration, Instant};

use crate::common::team::console_with_sqlite_target;
use crate::common::PlanApi;
use app::access::Role;
use serde_json::{json, Value};

use crate::common::fixtures::BASELINE as PLAN;

/// The guardrail's newest reading in dev, once its outcome is `outcome`.
async fn reading_until(plan: &PlanApi<'_>, who: &reqwest::Client, outcome: &str) -> Value {
    let started = Instant::now();
    loop {
        let view = plan.view(who).await;
        if let Some(r) = view["guardrails"][0]["readings"].as_array().and_then(|rs| {
            rs.iter()
                .find(|r| r["environment"] == "dev" && r["outcome"] == outcome)
        }) {
            return r.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {outcome} reading: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_captures_a_missing_baseline_with_a_reason() {
    let (app, t, _target_db) = console_with_sqlite_target(&[
        "CREATE TABLE latency (ms REAL)",
        "INSERT INTO latency (ms) VALUES (120)",
    ])
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let vera = app.signed_in("vera", &[Role::Viewer]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let phase = plan.phase(&olga, 0).await["id"].clone();
    let (status, body) = plan.on_phase(&olga, "start_phase", &phase).await;
    assert_eq!(status, 200, "{body}");

    // Nothing was read before the phase began: no baseline.
    let r = reading_until(&plan, &olga, "inconclusive").await;
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("no baseline was captured"),
        "{r}"
    );

    let capture = |reason: &str| json!({"command": "capture_baseline", "guardrail": "latency", "reason": reason});
    let (status, body) = plan.command(&vera, capture("viewer")).await;
    assert_eq!(status, 403, "a viewer cannot: {body}");
    let (status, body) = plan.command(&olga, capture("")).await;
    assert_eq!(status, 400, "a reason is required: {body}");
    let (status, body) = plan
        .command(
            &olga,
            json!({"command": "capture_baseline", "guardrail": "nope", "reason": "x"}),
        )
        .await;
    assert_eq!(status, 409, "no such guardrail: {body}");
    let (status, body) = plan
        .command(
            &olga,
            capture("the app's Prometheus was added after dev started; 120 ms is last week's p95"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["message"].as_str().unwrap().contains("120"), "{body}");
    let (status, body) = plan.command(&olga, capture("again")).await;
    assert_eq!(status, 409, "never replaced: {body}");

    // Judged against it from the next reading: 120 ≤ 240.
    reading_until(&plan, &olga, "healthy").await;
    sqlx::query("UPDATE latency SET ms = 500")
        .execute(&t.pool)
        .await
        .unwrap();
    reading_until(&plan, &olga, "failed").await;

    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_name, details FROM audit_events WHERE action = 'guardrail.baseline'",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "olga");
    let d: Value = serde_json::from_str(&events[0].1).unwrap();
    assert_eq!(d["value"], 120.0, "{d}");
    assert_eq!(d["environment"], "dev");
    assert!(d["reason"].as_str().unwrap().contains("last week"), "{d}");
    app.stop().await;
    drop(t);
}
