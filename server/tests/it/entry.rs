//! Entry criteria, on both store backends: a phase whose `[[phases.entry]]`
//! items do not hold cannot start, and the refusal names them; they are
//! ticked while the phase is pending and are history once it started; they
//! do not count toward its checklist.
use crate::common::refused;
use crate::common::{PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};

use crate::common::fixtures::ENTRY as PLAN;

on_both_backends! {
    a_phase_with_unmet_entry_criteria_cannot_start => entry_criteria;
}

async fn entry_criteria(db: TestDb) {
    let store = db.store().await;
    let server = TestApp::spawn_on(db, store).await;
    walk(&server).await;
    server.stop().await;
}

async fn walk(app: &TestApp) {
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(app, &olga, PLAN).await;
    let view = || plan.view(&olga);
    let command = |cmd: Value| plan.command(&olga, cmd);
    let phase = view().await["phases"][0].clone();
    let pilot = phase["id"].as_str().unwrap().to_string();
    let items = phase["checklist"].as_array().unwrap().clone();
    assert_eq!(
        items
            .iter()
            .map(|i| i["entry"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        vec![true, true, false]
    );
    assert!(
        phase["start_blockers"]
            .to_string()
            .contains("Recent full database backup completed"),
        "{phase}"
    );

    let (status, body) = command(json!({"command": "start_phase", "phase_id": pilot})).await;
    assert_eq!(status, 409);
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("entry criterion \"Recent full database backup completed\" is not ticked")
            && error.contains("On-call engineer assigned"),
        "names every unmet one: {error}"
    );
    // The checklist cannot be ticked before the phase runs; entry criteria can.
    let (status, _) = command(
        json!({"command": "tick", "item_id": items[2]["id"], "ticked": true, "comment": ""}),
    )
    .await;
    assert_eq!(status, 409);
    for item in &items[..2] {
        let (status, body) = command(
            json!({"command": "tick", "item_id": item["id"], "ticked": true, "comment": "done"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = command(json!({"command": "start_phase", "phase_id": pilot})).await;
    assert_eq!(status, 200, "{body}");
    // Once started, the entry criteria are history.
    refused(
        command(
            json!({"command": "tick", "item_id": items[0]["id"], "ticked": false, "comment": ""}),
        )
        .await,
        409,
        "history",
    );
    // They do not count toward the checklist: it waits for its own item only.
    let phase = view().await["phases"][0].clone();
    assert_eq!(phase["checklist_complete"], false);
    let (status, body) = command(
        json!({"command": "tick", "item_id": items[2]["id"], "ticked": true, "comment": ""}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(view().await["phases"][0]["checklist_complete"], true);
}
