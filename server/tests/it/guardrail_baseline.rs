//! One baseline per rollout (#29): a value that grows 8 % with every step
//! of a six-step production walk never grows 10 % over the step before, so
//! a baseline captured again at each phase start (`baseline = "phase"`)
//! lets it pass step by step; the rollout's baseline (the default: captured
//! before the first exposure and kept) breaches at the step that crosses
//! +10 % of the value before the rollout. A real Prometheus scrapes the
//! fixture whose value the test raises.
use crate::common::prometheus::console_over_fixture;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::PlanApi;
use app::access::Role;
use serde_json::Value;

const STEPS: [i64; 6] = [100, 500, 1_000, 2_500, 5_000, 10_000];

fn plan() -> String {
    let mut file = String::from("[plan]\nname = \"Six steps\"\nflag = \"six_steps\"\n");
    for bp in STEPS {
        file += &format!(
            "\n[[phases]]\nname = \"production {bp}\"\nenvironment = \"production\"\nexposure_bp = {bp}\n"
        );
    }
    for (name, baseline) in [("rollout", "rollout"), ("stepwise", "phase")] {
        file += &format!(
            "\n[[guardrails]]\nname = \"{name}\"\nprometheus = \"app\"\nquery = \"max(app_error_ratio)\"\n\
             max = \"baseline * 1.10\"\ninterval = \"1s\"\nbaseline = \"{baseline}\"\n"
        );
    }
    file
}

/// The newest reading of `guardrail` once its value is `value`: (outcome,
/// detail).
async fn reading(
    plan: &PlanApi<'_>,
    who: &reqwest::Client,
    guardrail: &str,
    value: f64,
) -> (String, String) {
    let mut last = Value::Null;
    for _ in 0..300 {
        let view = plan.view(who).await;
        let r = view["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == guardrail)
            .unwrap()["readings"][0]
            .clone();
        let read = r["value"].as_str().and_then(|v| v.parse::<f64>().ok());
        if read.is_some_and(|v| (v - value).abs() < 0.001) {
            return (
                r["outcome"].as_str().unwrap().into(),
                r["detail"].as_str().unwrap().into(),
            );
        }
        last = r;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{guardrail} never read {value}; last: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drift_breaches_against_the_rollouts_baseline() {
    let (value, _prom, app) = console_over_fixture(1.0).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, &plan()).await;
    let mut now = 1.0f64;
    for (i, _) in STEPS.iter().enumerate() {
        let id = plan.phase(&olga, i).await["id"].clone();
        let (status, body) = plan.on_phase(&olga, "start_phase", &id).await;
        assert_eq!(status, 200, "step {i}: {body}");
        // Read at the step's start (the phase's baseline is this value),
        // then the step raises it 8 %.
        for guardrail in ["rollout", "stepwise"] {
            reading(&plan, &olga, guardrail, now).await;
        }
        now *= 1.08;
        value.store(now.to_bits(), Ordering::Relaxed);
        let (stepwise, detail) = reading(&plan, &olga, "stepwise", now).await;
        assert_eq!(
            stepwise, "healthy",
            "step {i}: 8 % over the step before: {detail}"
        );
        let (rollout, detail) = reading(&plan, &olga, "rollout", now).await;
        // Over the value before the rollout: 1.08, then 1.1664 (> 1.10).
        let want = if i == 0 { "healthy" } else { "failed" };
        assert_eq!(rollout, want, "step {i}: {detail}");
        assert!(
            detail.contains("baseline 1)"),
            "the rollout's baseline, kept: {detail}"
        );
        if i + 1 < STEPS.len() {
            let (status, body) = plan.on_phase(&olga, "request_approval", &id).await;
            assert_eq!(status, 200, "step {i}: {body}");
        }
    }
    app.stop().await;
}

/// `baseline_window`: the baseline is the query's mean over the window
/// before the rollout (seed 003's 24 h baseline, here one minute), not the
/// value at its start; the reading says so, and the baseline is stored with
/// the query that took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_over_a_window_is_the_mean_before_the_rollout() {
    let (value, _prom, app) = console_over_fixture(1.0).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let file = "[plan]\nname = \"Windowed\"\nflag = \"windowed\"\n\n[[phases]]\nname = \"production 1\"\n\
                environment = \"production\"\nexposure_bp = 100\n\n[[guardrails]]\nname = \"errors\"\n\
                prometheus = \"app\"\nquery = \"max(app_error_ratio)\"\nmax = \"baseline * 1.10\"\n\
                interval = \"1s\"\nbaseline_window = \"1m\"\n";
    let plan = PlanApi::import(&app, &olga, file).await;
    // Some seconds at 1, then as many at 3, then the rollout starts.
    tokio::time::sleep(Duration::from_secs(8)).await;
    value.store(3.0f64.to_bits(), Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let id = plan.phase(&olga, 0).await["id"].clone();
    let (status, body) = plan.on_phase(&olga, "start_phase", &id).await;
    assert_eq!(status, 200, "{body}");
    let (outcome, detail) = reading(&plan, &olga, "errors", 3.0).await;
    assert!(
        detail.contains("baseline: the mean over the 1 min before the rollout"),
        "{detail}"
    );
    let (baseline, query, window): (f64, String, Option<i64>) = sqlx::query_as(
        "SELECT value, query, window_ms FROM guardrail_baselines WHERE guardrail = 'errors'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert!(
        baseline > 1.2 && baseline < 2.8,
        "the mean of the minute before, not its last value: {baseline}"
    );
    // 3 is more than 10 % over a baseline of the two levels' mean.
    assert_eq!(outcome, "failed", "{detail}");
    assert_eq!(query, "avg_over_time((max(app_error_ratio))[60s:1s])");
    assert_eq!(window, Some(60_000));
    app.stop().await;
}
