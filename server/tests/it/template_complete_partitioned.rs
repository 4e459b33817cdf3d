//! The partitioned-tables template (seed 004), as shipped, walked to
//! `completed` through the API on seed-shaped tables (legacy and partitioned
//! copies kept in step by the dual-write triggers), with its guardrails
//! reading a real Prometheus that scrapes the fixture application and the
//! row-count delta on the target: the targeted pilot loaded from the target,
//! every automatic item evaluated, the seed's schedule passed on the
//! console's clock. A second walk raises the error rate in "5%": the system
//! takes production to 0 % (the seed's standard rollback, the plan still
//! resumable), and the audit trail says why.
use crate::common::team::{sql, team, Team, HOUR};
use crate::common::world::{world, World, STEP_MS};
use crate::common::Fetch;
use serde_json::json;

const PARITY: [&str; 2] = ["parity_revenue", "parity_expense"];
/// The `for` of the template's gating guardrails.
const WINDOW: i64 = HOUR;
/// The production percentages after the pilot, with their soaks (hours).
const RAMP: [(&str, i64); 6] = [
    ("1%", 48),
    ("5%", 48),
    ("10%", 48),
    ("25%", 72),
    ("50%", 96),
    ("100%", 24),
];

/// Seed 004's row-count verification in `environment`: no delta.
async fn verify(t: &Team<'_>, environment: &str) {
    for job in PARITY {
        let verify = t.run(job, "verify", environment).await;
        assert_eq!(verify["result"]["delta"], 0, "{verify}");
    }
}

/// dev → staging → the targeted pilot, approved.
async fn through_the_pilot(w: &World, t: &Team<'_>) {
    assert_eq!(t.start("dev").await.0, 200);
    verify(t, "dev").await;
    t.tick_manual("dev").await;
    w.until_met(t, "dev").await;
    t.approve("dev", 1).await;
    w.app.state.clock.advance(24 * HOUR);

    t.tick_manual("staging").await;
    assert_eq!(t.start("staging").await.0, 200);
    t.tick_manual("staging").await;
    w.let_pass(24, WINDOW).await;
    verify(t, "staging").await;
    w.until_met(t, "staging").await;
    t.approve("staging", 1).await;

    let pilot = t.phase("pilot").await["id"].clone();
    let load = json!({"command": "load_allow_query", "phase_id": pilot, "reason": "small, low-risk organisations"});
    t.ok(&t.olga, load).await;
    let allowed = World::flag_in(&t.view().await, "production")["allow"]
        .as_array()
        .unwrap()
        .len();
    assert!(allowed > 0, "the pilot organisations are on the allow list");
    t.tick_manual("pilot").await;
    let (status, body) = t.start("pilot").await;
    assert_eq!(status, 200, "{body}");
    w.let_pass(72, WINDOW).await;
    verify(t, "production").await;
    w.until_met(t, "pilot").await;
    t.approve("pilot", 2).await;
}

/// Starts `phase` of the ramp and lets its soak pass with fresh parity.
async fn ramp(w: &World, t: &Team<'_>, phase: &str, hours: i64) {
    let (status, body) = t.start(phase).await;
    assert_eq!(status, 200, "{phase}: {body}");
    w.let_pass(hours, WINDOW).await;
    verify(t, "production").await;
    t.tick_manual(phase).await;
    w.until_met(t, phase).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partitioned_template_walks_to_completed_with_its_guardrails() {
    let w = world().await;
    let t = team(&w.app, "partitioned-tables").await;
    through_the_pilot(&w, &t).await;
    for (phase, hours) in RAMP {
        ramp(&w, &t, phase, hours).await;
        t.approve(phase, 2).await;
    }
    let name = t.view().await["summary"]["name"].clone();
    t.ok(&t.olga, json!({"command": "complete", "confirm": name}))
        .await;
    let view = t.view().await;
    assert_eq!(
        view["summary"]["status"], "completed",
        "{}",
        view["summary"]
    );
    let production = World::flag_in(&view, "production");
    assert_eq!(production["exposure_bp"], 10_000, "{production}");
    // Launched: a pilot organisation can still be taken off the allow list
    // (it only lowers exposure); nothing raises it any more.
    let pilot = production["allow"][0].clone();
    assert!(pilot.is_string(), "{production}");
    t.ok(
        &t.olga,
        json!({"command": "disallow", "environment": "production", "entity": pilot,
               "reason": "the organisation left the pilot programme"}),
    )
    .await;
    let (status, body) = t
        .plan
        .command(
            &t.olga,
            json!({"command": "allow", "environment": "production", "entities": [pilot],
                   "reason": "back in"}),
        )
        .await;
    assert_eq!(status, 409, "a completed plan raises nothing: {body}");
    // Every guardrail item of staging, the pilot and the ramp was judged on
    // readings, and the row-count guardrail read the target throughout.
    let judged = World::guardrail_items(&view);
    assert!(
        judged.len() >= 15 && judged.iter().all(|i| i["evaluable"] == true),
        "{judged:?}"
    );
    let (delta_readings, healthy): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN outcome = 'healthy' THEN 1 ELSE 0 END), 0) \
         FROM guardrail_measurements WHERE guardrail = 'row_delta_critical'",
    )
    .fetch_one(w.app.state.store.pool())
    .await
    .unwrap();
    assert!(
        delta_readings > 100 && healthy == delta_readings,
        "{healthy} of {delta_readings}"
    );
    w.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_spike_at_5_percent_is_rolled_back_by_the_system() {
    let w = world().await;
    let t = team(&w.app, "partitioned-tables").await;
    through_the_pilot(&w, &t).await;
    ramp(&w, &t, "1%", 48).await;
    t.approve("1%", 2).await;
    assert_eq!(t.start("5%").await.0, 200);
    // Its first readings (and baselines) at its start, before the spike.
    w.step(0).await;
    // Half the requests fail: past the decision matrix's critical line (1 %
    // for 5 minutes).
    w.error_spike(0.5, 0.01).await;
    for _ in 0..40 {
        let view = t.view().await;
        if World::flag_in(&view, "production")["enabled"] == false {
            break;
        }
        w.step(STEP_MS).await;
    }
    // Seed 004's standard rollback: the percentage to 0, the plan resumable.
    let view = t.view().await;
    let production = World::flag_in(&view, "production");
    assert_eq!(production["enabled"], false, "{production}");
    let pilot_org = production["allow"][0].as_str().unwrap();
    let url = w.app.url(&format!(
        "/api/v1/flags/use_partitioned_tables/evaluate?entity={pilot_org}&environment=production"
    ));
    let on: serde_json::Value = t.olga.get(url).body_json().await;
    assert_eq!(on["value"], false, "off even for the pilot: {on}");
    assert_eq!(view["summary"]["status"], "active");
    assert_eq!(t.phase("5%").await["status"], "active", "resumable");
    let (actor, reason): (String, String) =
        sqlx::query_as("SELECT actor_kind, details FROM audit_events WHERE action = 'plan.pause'")
            .fetch_one(w.app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(actor, "system");
    assert!(
        reason.contains(r#"guardrail \"error_rate_critical\""#) && reason.contains("in production"),
        "{reason}"
    );
    // The legacy and partitioned copies still agree (nothing lost).
    let legacy = sql(&w.targets, "SELECT COUNT(*) FROM revenue_transactions").await;
    let copy = sql(
        &w.targets,
        "SELECT COUNT(*) FROM revenue_transactions_partitioned",
    )
    .await;
    assert_eq!(legacy, copy);
    w.app.stop().await;
}
