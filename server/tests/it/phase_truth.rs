//! A phase's checklist tells the truth in every state: a pending phase's
//! automatic items are not judged on readings its own run has not produced
//! (the phase before it, in the same environment, did), and a done phase
//! shows its items as they were when its gate passed (the approval's
//! evidence, stored with the decision), not as the checks judge them now.
//! A real Prometheus scrapes a fixture application whose error ratio the
//! test sets.
use crate::common::prometheus::console_over_fixture;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::PlanApi;
use app::access::Role;
use serde_json::{json, Value};

use crate::common::fixtures::PHASE_TRUTH as PLAN;

fn item(phase: &Value) -> Value {
    phase["checklist"][0].clone()
}

/// Waits until phase `i`'s item is `met`; returns the phase.
async fn until(plan: &PlanApi<'_>, who: &reqwest::Client, i: usize, met: bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let phase = plan.phase(who, i).await;
        if item(&phase)["met"] == met {
            return phase;
        }
        last = phase;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "phase {i}'s item never became met={met}; last: {}",
        item(&last)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_phases_are_not_judged_and_done_phases_show_what_was_approved() {
    let (ratio, prom, app) = console_over_fixture(0.0002).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let cmd = |who: &'static str, body: Value| {
        let client = if who == "ann" { &ann } else { &olga };
        let plan = &plan;
        async move {
            let (status, answer) = plan.command(client, body.clone()).await;
            assert_eq!(status, 200, "{body} → {answer}");
        }
    };
    let first = plan.phase(&olga, 0).await;
    cmd(
        "olga",
        json!({"command": "start_phase", "phase_id": first["id"]}),
    )
    .await;
    let first = until(&plan, &olga, 0, true).await;
    assert!(
        item(&first)["detail"].as_str().unwrap().contains("healthy"),
        "{first}"
    );

    // Production reads healthy, but "production 25%" has not run: its item
    // is not judged on the readings of the phase before it.
    let second = plan.phase(&olga, 1).await;
    assert_eq!(item(&second)["met"], false, "{second}");
    assert_eq!(item(&second)["evaluable"], false, "{second}");
    assert_eq!(item(&second)["detail"], "judged once this phase runs");

    cmd(
        "olga",
        json!({"command": "request_approval", "phase_id": first["id"]}),
    )
    .await;
    let hash = plan.phase(&olga, 0).await["evidence_hash"].clone();
    cmd(
        "ann",
        json!({"command": "decide", "phase_id": first["id"], "verdict": "approve",
               "comment": "", "evidence": hash}),
    )
    .await;
    cmd(
        "olga",
        json!({"command": "start_phase", "phase_id": second["id"]}),
    )
    .await;
    until(&plan, &olga, 1, true).await;

    // Errors now: the running phase's item fails; the done phase keeps what
    // ann approved, and says so.
    ratio.store(0.2f64.to_bits(), Ordering::Relaxed);
    until(&plan, &olga, 1, false).await;
    let done = plan.phase(&olga, 0).await;
    assert_eq!(done["status"], "done");
    let shown = item(&done);
    assert_eq!(shown["met"], true, "{shown}");
    let detail = shown["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("when ann decided at ") && detail.contains("met: healthy"),
        "{detail}"
    );
    // What it was approved on is stored with the decision, as in its event.
    let stored: String = sqlx::query_scalar(
        "SELECT evidence_json FROM approvals WHERE verdict = 'approve' AND username = 'ann'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["items"][0]["met"], true, "{stored}");
    assert_eq!(stored["guardrails"][0]["name"], "error_rate", "{stored}");
    app.stop().await;
    drop(prom);
}
