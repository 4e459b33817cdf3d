//! Notifications, on both store backends: a request for approval is
//! announced to each endpoint that hears it, signed, naming the people the
//! gate asks (and only they may decide); a Slack endpoint gets a message
//! with a link to the plan; a receiver that is down gets the delivery later
//! with the same idempotency key; the delivery log is an admin's.
mod crash;
pub mod receiver;

use std::collections::BTreeMap;

use crate::common::fixtures::NOTIFY;
use crate::common::{refused, PlanApi, TestApp, TestDb};
use app::access::Role;
use receiver::Receiver;
use serde_json::json;
use server::config::{NotifyEndpointConfig, NotifyFormat};

on_both_backends! {
    a_request_for_approval_reaches_the_people_it_names => announced;
}

/// `[notify.hook]` (JSON, signed, every event) and `[notify.slack]`
/// (requests and rollbacks) posting to `receiver`; the secret in `var`.
pub fn endpoints(receiver: &str, var: &str) -> BTreeMap<String, NotifyEndpointConfig> {
    BTreeMap::from([
        (
            "hook".to_string(),
            NotifyEndpointConfig {
                url: Some(format!("{receiver}/hook")),
                secret_env: Some(var.to_string()),
                events: vec!["*".into()],
                ..NotifyEndpointConfig::default()
            },
        ),
        (
            "slack".to_string(),
            NotifyEndpointConfig {
                url: Some(format!("{receiver}/slack")),
                events: vec!["gate.request".into(), "plan.rollback.*".into()],
                format: NotifyFormat::Slack,
                ..NotifyEndpointConfig::default()
            },
        ),
    ])
}

/// Starts the "Announced" pilot and ticks its item, as olga: what asking
/// for its approval needs. The pilot's id.
pub async fn ready_for_approval(plan: &PlanApi<'_>, olga: &reqwest::Client) -> serde_json::Value {
    let pilot = plan.phase(olga, 0).await["id"].clone();
    assert_eq!(plan.on_phase(olga, "start_phase", &pilot).await.0, 200);
    let item = plan.phase(olga, 0).await["checklist"][0]["id"].clone();
    let tick = json!({"command": "tick", "item_id": item, "ticked": true, "comment": ""});
    assert_eq!(plan.command(olga, tick).await.0, 200);
    pilot
}

/// Waits until every endpoint of the console over `store` has started
/// reading the trail (what happens before is not announced).
pub async fn listening(store: &server::db::Store, endpoints: i64) {
    for _ in 0..100 {
        // Endpoints' places (on-call's reader, `:incidents`, is not one).
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM trail_cursors WHERE reader NOT LIKE ':%'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        if n == endpoints {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the notifier never started reading the trail");
}

async fn announced(db: TestDb) {
    let receiver = Receiver::default();
    let base = receiver.start().await;
    // A variable of this test's own: tests run side by side in one process.
    let var = format!(
        "NOTIFY_TEST_SECRET_{}",
        db.database_url().len() + base.len()
    );
    std::env::set_var(&var, receiver::SECRET);
    let app = TestApp::spawn_db_with(db, |c| c.notify = endpoints(&base, &var)).await;
    listening(&app.state.store, 2).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let dana = app.signed_in("dana", &[Role::Approver]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    app.add_user("erik", &[Role::Admin]).await;
    let admin = app.signed_in("root", &[Role::Admin]).await;

    let plan = PlanApi::import(&app, &olga, NOTIFY).await;
    let pilot = plan.phase(&olga, 0).await;
    assert_eq!(pilot["approvers"], json!(["dana", "erik"]));
    let pilot_id = ready_for_approval(&plan, &olga).await;
    assert_eq!(
        plan.on_phase(&olga, "request_approval", &pilot_id).await.0,
        200
    );

    // The JSON endpoint: signed, and naming exactly the people asked.
    let request = receiver
        .wait_for("hook", 20, |s| s.body["type"] == "gate.request")
        .await;
    assert_eq!(request.signed, Some(true), "{request:?}");
    assert_eq!(request.body["data"]["to"], json!(["dana", "erik"]));
    assert_eq!(request.body["data"]["plan"]["name"], "Announced");
    assert_eq!(
        request.body["data"]["link"],
        format!(
            "{}/plans/{}/approve/{}",
            app.base,
            plan.id,
            pilot_id.as_str().unwrap()
        )
    );
    assert!(request.id.starts_with("evt_"), "{}", request.id);
    // Every earlier event came first, in the trail's order.
    let kinds: Vec<String> = receiver
        .taken("hook")
        .iter()
        .map(|s| s.body["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "plan.import",
            "plan.activate",
            "phase.start",
            "gate.request"
        ],
        "tick events are not announced; the rest in order"
    );
    let seqs: Vec<i64> = receiver
        .taken("hook")
        .iter()
        .map(|s| s.body["data"]["event"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // The Slack endpoint hears the request only, as a message with a link.
    let slack = receiver
        .wait_for("slack", 20, |s| s.body["text"].is_string())
        .await;
    let text = slack.body["text"].as_str().unwrap();
    assert!(
        text.contains("asks for approval of \"pilot\" in Announced")
            && text.contains("from dana, erik")
            && text.contains(&format!("<{}/plans/{}/approve/", app.base, plan.id)),
        "{text}"
    );
    assert_eq!(slack.signed, None, "no secret configured: unsigned");
    assert_eq!(receiver.taken("slack").len(), 1);

    // Only the people asked decide.
    let evidence = plan.phase(&ann, 0).await["evidence_hash"].clone();
    let decide = json!({"command": "decide", "phase_id": pilot_id, "verdict": "approve", "comment": "", "evidence": evidence});
    refused(
        plan.command(&ann, decide.clone()).await,
        403,
        "asks dana, erik only",
    );
    assert_eq!(plan.command(&dana, decide).await.0, 200);

    // The receiver is down: the rollback waits, and then arrives with the
    // idempotency key of its first attempt.
    receiver.set_down(true);
    let rollback = json!({"command": "rollback", "kind": "standard", "confirm": "Announced", "reason": "drill", "entity": ""});
    let (status, body) = plan.command(&olga, rollback).await;
    assert_eq!(status, 200, "{body}");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.attempts("slack").len() < 3 {
        assert!(
            std::time::Instant::now() < until,
            "{:?}",
            receiver.attempts("slack")
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = app.server_fn(&admin, "notify_deliveries", &[]).await;
    assert_eq!(log.status(), 200);
    let log: serde_json::Value = log.json().await.unwrap();
    let waiting = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["endpoint"] == "slack" && d["action"] == "plan.rollback.standard")
        .cloned()
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(waiting["status"], "pending");
    assert!(waiting["attempts"].as_i64().unwrap() >= 2, "{waiting}");
    assert!(
        waiting["last_error"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 503"),
        "{waiting}"
    );
    let slack = &log["endpoints"].as_array().unwrap()[1];
    assert_eq!(
        (
            slack["name"].as_str(),
            slack["address"].as_str(),
            slack["signed"].as_bool()
        ),
        (Some("slack"), Some(base.as_str()), Some(false)),
        "{slack}"
    );
    receiver.set_down(false);
    let back = receiver
        .wait_for("slack", 30, |s| {
            s.body["text"].as_str().unwrap_or("").contains("rolled")
        })
        .await;
    let attempts = receiver.attempts("slack");
    let same: Vec<_> = attempts.iter().filter(|s| s.id == back.id).collect();
    assert!(
        same.len() >= 3,
        "every attempt carries the same key: {attempts:?}"
    );

    // The log is an admin's; the metrics count the attempts.
    let refused = app.server_fn(&ann, "notify_deliveries", &[]).await;
    assert_eq!(refused.status(), 403);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("notify_delivery_attempts_total{endpoint=\"slack\",outcome=\"pending\"}"),
        "{metrics}"
    );
    std::env::remove_var(&var);
}
