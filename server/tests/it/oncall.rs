//! On-call, with the clock injected: a guardrail breach pauses production
//! by itself and opens an incident; the plan's first step pages olga at
//! once (her inbox has it, an approver's does not); nothing more happens
//! before the next step's time; then the admins are paged; an admin
//! acknowledges it and the escalation stops there — the third step never
//! pages. Every page and the acknowledgement are audit events.
use std::time::{Duration, Instant};

use crate::common::fixtures::ONCALL as PLAN;
use crate::common::team::console_with_sqlite_target;
use crate::common::{Fetch, PlanApi, TestApp};
use app::access::Role;
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

async fn oncall(plan: &PlanApi<'_>, who: &reqwest::Client) -> Value {
    plan.view(who).await["oncall"].clone()
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn pages(app: &TestApp) -> Vec<Value> {
    let store = &app.state.store;
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT details FROM audit_events WHERE action = 'incident.page' ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(d,)| serde_json::from_str(&d).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_pages_step_by_step_until_someone_acknowledges_it() {
    let (app, t, _target) =
        console_with_sqlite_target(&["CREATE TABLE errors (id INTEGER PRIMARY KEY)"]).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let dana = app.signed_in("dana", &[Role::Approver]).await;
    let root = app.signed_in("root", &[Role::Admin]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let phase = plan.phase(&olga, 0).await["id"].clone();
    assert_eq!(plan.on_phase(&olga, "start_phase", &phase).await.0, 200);

    // The breach: the system pauses production, and olga is paged.
    sqlx::query("INSERT INTO errors (id) VALUES (1), (2), (3)")
        .execute(&t.pool)
        .await
        .unwrap();
    until("the incident pages olga", async || {
        oncall(&plan, &olga).await["steps_paged"] == 1
    })
    .await;
    let incident = oncall(&plan, &olga).await;
    assert_eq!(incident["action"], "guardrail.action", "{incident}");
    assert_eq!(incident["paged"], json!(["olga"]));
    assert_eq!(incident["steps_total"], 3);
    assert_eq!(incident["next_page"], json!(["role:admin"]));
    let opened = incident["opened_ms"].as_i64().unwrap();
    assert_eq!(incident["next_at_ms"].as_i64(), Some(opened + 15 * MINUTE));
    let id = incident["id"].as_str().unwrap().to_string();
    let inbox: Value = olga.get(app.url("/api/v1/inbox")).body_json().await;
    assert_eq!(inbox["incidents"][0]["incident_id"], id, "{inbox}");
    let danas: Value = dana.get(app.url("/api/v1/inbox")).body_json().await;
    assert_eq!(danas["incidents"], json!([]), "dana was not paged");

    // Ten minutes on: the next step is not due.
    app.state.clock.advance(10 * MINUTE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(oncall(&plan, &olga).await["steps_paged"], 1);

    // Sixteen: the admins are paged.
    app.state.clock.advance(6 * MINUTE);
    until("the second step pages the admins", async || {
        oncall(&plan, &olga).await["steps_paged"] == 2
    })
    .await;
    let paged = oncall(&plan, &olga).await["paged"].clone();
    assert!(
        paged.as_array().unwrap().iter().any(|p| p == "root"),
        "{paged}"
    );
    // Someone who was not paged and does not run rollouts may not answer.
    let viewer = app.signed_in("vera", &[Role::Viewer]).await;
    let ack = json!({"command": "acknowledge", "incident_id": id});
    assert_eq!(plan.command(&viewer, ack.clone()).await.0, 403);
    sqlx::query("DELETE FROM errors")
        .execute(&t.pool)
        .await
        .unwrap();
    let (status, body) = plan.command(&root, ack.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plan.command(&olga, ack).await.0, 409, "once");
    let acked = oncall(&plan, &olga).await;
    assert_eq!(acked["acked_by"], "root");
    assert_eq!(acked["next_at_ms"], Value::Null);

    // Forty minutes in: the third step never pages.
    app.state.clock.advance(30 * MINUTE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pages = pages(&app).await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(
        (pages[0]["step"].as_i64(), pages[1]["step"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(pages[0]["page"], json!(["olga"]));
    let inbox: Value = olga.get(app.url("/api/v1/inbox")).body_json().await;
    assert_eq!(
        inbox["incidents"],
        json!([]),
        "acknowledged: gone from the inbox"
    );
    let acks: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'incident.ack' AND actor_name = 'root'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(acks, 1);
}
