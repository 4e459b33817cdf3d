//! Gates that bind, on both store backends: on a running plan, an edit that
//! weakens a gate (here to `approvals = 0`) is a change request that takes
//! effect only once others approve it, or an admin overrides it with a
//! reason; an edit keeps the ticks of the items it does not change, and a
//! phase whose checklist is no longer complete is no longer up for approval.

use crate::common::error_of;
use crate::common::refused;
use crate::common::{TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};
use server::audit::Actor;

use crate::common::fixtures::GATES_BIND as PLAN;

use crate::common::PlanApi as Plan;

/// Each checklist item's text and whether it is ticked.
fn ticks(phase: &Value) -> Vec<(String, bool)> {
    phase["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["text"].as_str().unwrap().to_string(),
                !i["ticked_by"].is_null(),
            )
        })
        .collect()
}

on_both_backends! {
    a_weakened_gate_waits_for_others_and_edits_keep_unchanged_ticks => gates_bind;
    a_tokens_weakening_is_its_creators_and_a_changed_item_keeps_the_others_ticks => token_author;
}

/// PLAN imported by `olga`, its pilot started, every item ticked and its
/// approval requested; the plan and the pilot's id.
async fn awaiting_approval<'a>(app: &'a TestApp, olga: &reqwest::Client) -> (Plan<'a>, String) {
    let plan = Plan::import(app, olga, PLAN).await;
    let pilot = plan.phase(olga, 0).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = plan.on_phase(olga, "start_phase", &pilot).await;
    assert_eq!(status, 200, "{body}");
    for item in plan.phase(olga, 0).await["checklist"].as_array().unwrap() {
        let (status, body) = plan
            .command(
                olga,
                json!({"command": "tick", "item_id": item["id"], "ticked": true, "comment": ""}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = plan.on_phase(olga, "request_approval", &pilot).await;
    assert_eq!(status, 200, "{body}");
    (plan, pilot)
}

async fn gates_bind(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let bob = app.signed_in("bob", &[Role::Approver]).await;
    let admin = app.signed_in("ada", &[Role::Admin]).await;
    let (plan, pilot) = awaiting_approval(&app, &olga).await;

    // The operator removes the gate: a change request, not a change.
    let weakened = PLAN.replacen("approvals = 2", "approvals = 0", 1);
    let (status, body) = plan.edit(&olga, None, &weakened).await;
    assert_eq!(status, 202, "{body}");
    let change = body["pending_change"].as_str().unwrap().to_string();
    let view = plan.view(&olga).await;
    assert_eq!(view["phases"][0]["approvals_required"], 2, "not in effect");
    assert_eq!(view["phases"][0]["status"], "awaiting_approval");
    let request = &view["change_request"];
    assert_eq!(request["author"], "olga");
    assert_eq!(request["approvals_required"], 2);
    assert!(
        request["weakens"][0]
            .as_str()
            .unwrap()
            .contains("approvals 2 → 0"),
        "{request}"
    );
    // Its author cannot approve it, nor can a token; approvers can.
    let (status, body) = plan.decide_change(&olga, &change, "approve", "").await;
    assert_eq!(status, 403, "an operator does not approve: {body}");
    let (status, body) = plan.decide_change(&ann, &change, "approve", "ok").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        plan.view(&olga).await["phases"][0]["approvals_required"],
        2,
        "1 of 2"
    );
    let (status, body) = plan.decide_change(&ann, &change, "approve", "again").await;
    assert_eq!(status, 409, "one decision per person: {body}");
    let (status, body) = plan.decide_change(&bob, &change, "approve", "ok").await;
    assert_eq!(status, 200, "{body}");
    let view = plan.view(&olga).await;
    assert_eq!(view["phases"][0]["approvals_required"], 0, "now in effect");
    assert!(view["change_request"].is_null());

    // A plans:write token's weakening is a change request too; an admin can
    // apply it with a reason, and only with one.
    let pipeline = app.pipeline(Actor::System).await;
    let no_item = PLAN.replacen("approvals = 2", "approvals = 0", 1).replace(
        "[[phases.checklist]]\nkind = \"manual\"\ntext = \"Stakeholders notified\"\n",
        "",
    );
    let (status, body) = plan.edit(&pipeline, None, &no_item).await;
    assert_eq!(status, 202, "{body}");
    let change = body["pending_change"].as_str().unwrap().to_string();
    let (status, _) = plan
        .command(
            &admin,
            json!({"command": "override_change", "change_id": change, "reason": ""}),
        )
        .await;
    assert_eq!(status, 400, "an override says why");
    let (status, body) = plan
        .command(&admin, json!({"command": "override_change", "change_id": change, "reason": "item duplicated in the runbook"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let items_now = plan.view(&olga).await["phases"][0]["checklist"].clone();
    assert_eq!(items_now.as_array().unwrap().len(), 2);

    // An edit that adds an item above the others keeps their ticks; the
    // phase, no longer complete, is no longer up for approval.
    let added = no_item.replacen(
        "[[phases.checklist]]\nkind = \"manual\"\ntext = \"Backup taken\"",
        "[[phases.checklist]]\nkind = \"manual\"\ntext = \"Rollback plan reviewed\"\n\n[[phases.checklist]]\nkind = \"manual\"\ntext = \"Backup taken\"",
        1,
    );
    assert_ne!(added, no_item);
    let (status, body) = plan.edit(&olga, None, &added).await;
    assert_eq!(status, 200, "adding an item weakens nothing: {body}");
    let phase = plan.view(&olga).await["phases"][0].clone();
    assert_eq!(
        ticks(&phase),
        vec![
            ("Rollback plan reviewed".to_string(), false),
            ("Backup taken".to_string(), true),
            ("On-call assigned".to_string(), true),
        ],
        "{phase}"
    );
    assert_eq!(phase["status"], "active", "back to active: {phase}");
    let (status, body) = plan
        .command(&ann, json!({"command": "decide", "phase_id": pilot, "verdict": "approve", "comment": "", "evidence": phase["evidence_hash"]}))
        .await;
    assert_eq!(
        status, 409,
        "nobody is offered Approve on an incomplete checklist: {body}"
    );
    assert!(!error_of(&body).is_empty());

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE subject = $1 ORDER BY seq")
            .bind(format!("plan:{}", plan.id))
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    for a in [
        "plan.change_request",
        "plan.change_approve",
        "plan.change_override",
        "gate.unready",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    app.stop().await;
}

async fn token_author(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let bob = app.signed_in("bob", &[Role::Approver]).await;
    let (plan, _) = awaiting_approval(&app, &olga).await;

    // ann, an approver, makes a pipeline token; its edit removes the gate.
    let ann_id: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ann'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    let pipeline = app
        .pipeline(Actor::User {
            id: ann_id,
            name: "ann".into(),
        })
        .await;
    let weakened = PLAN.replacen("approvals = 2", "approvals = 0", 1);
    let (status, body) = plan.edit(&pipeline, None, &weakened).await;
    assert_eq!(status, 202, "{body}");
    let change = body["pending_change"].as_str().unwrap().to_string();
    let view = plan.view(&olga).await;
    assert_eq!(view["phases"][0]["approvals_required"], 2, "not in effect");
    assert_eq!(view["phases"][0]["status"], "awaiting_approval");
    // The token's change is ann's: she may not approve it herself.
    refused(
        plan.decide_change(&ann, &change, "approve", "mine").await,
        403,
        "a change you proposed",
    );
    let (status, body) = plan.decide_change(&bob, &change, "approve", "ok").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        plan.phase(&olga, 0).await["approvals_required"],
        2,
        "1 of 2"
    );
    // Only its author (the token, or ann) or an admin withdraws it: not
    // another operator.
    refused(
        plan.command(
            &olga,
            json!({"command": "withdraw_change", "change_id": change}),
        )
        .await,
        403,
        "or an admin can",
    );
    let (status, body) = plan
        .command(
            &pipeline,
            json!({"command": "withdraw_change", "change_id": change}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let view = plan.view(&olga).await;
    assert!(
        view["change_request"].is_null(),
        "{}",
        view["change_request"]
    );
    assert_eq!(
        view["phases"][0]["approvals_required"], 2,
        "withdrawn: nothing changed"
    );

    // olga rewords one item: a change request; once approved, the other two
    // items keep their ticks and the reworded one is open again.
    let reworded = PLAN.replacen("On-call assigned", "On-call assigned and paged", 1);
    plan.edit_approved(&olga, &reworded, &[&ann, &bob]).await;
    let phase = plan.phase(&olga, 0).await;
    assert_eq!(
        ticks(&phase),
        vec![
            ("Backup taken".to_string(), true),
            ("On-call assigned and paged".to_string(), false),
            ("Stakeholders notified".to_string(), true),
        ],
        "{phase}"
    );
    assert_eq!(
        phase["status"], "active",
        "no longer up for approval: {phase}"
    );

    // ann's token asks for the gate's approval: ann may not give it.
    let reworded = &phase["checklist"][1];
    let (status, body) = plan
        .command(
            &olga,
            json!({"command": "tick", "item_id": reworded["id"], "ticked": true, "comment": ""}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = plan
        .on_phase(&pipeline, "request_approval", &phase["id"])
        .await;
    assert_eq!(status, 200, "{body}");
    let phase = plan.phase(&olga, 0).await;
    let approve = json!({"command": "decide", "phase_id": phase["id"], "verdict": "approve", "comment": "", "evidence": phase["evidence_hash"]});
    refused(
        plan.command(&ann, approve.clone()).await,
        403,
        "you requested its approval",
    );
    let (status, body) = plan.command(&bob, approve).await;
    assert_eq!(status, 200, "bob may: {body}");
    app.stop().await;
}
