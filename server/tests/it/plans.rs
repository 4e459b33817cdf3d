//! Rollout plans through the real HTTP API, as signed-in people: gate rules
//! (self-approval, roles, one decision per person, evidence binding), the
//! state machine's order and soak, flag exposure and rollback.
use crate::common;
use crate::common::refused;
use crate::common::Fetch;

use crate::common::error_of;
use crate::common::{TestApp, TestDb};
use app::access::{Role, Scope};
use serde_json::{json, Value};
use server::audit::{Actor, ClientInfo};
use server::auth::tokens;

use crate::common::fixtures::PLANS as PLAN;

use crate::common::PlanApi as Plan;

/// The flag's exposure in `environment` as the plan view shows it.
fn exposure(view: &Value, environment: &str) -> i64 {
    view["flag"]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == environment)
        .map(|e| {
            if e["enabled"] == true {
                e["exposure_bp"].as_i64().unwrap()
            } else {
                0
            }
        })
        .unwrap()
}

async fn evaluate(app: &TestApp, secret: &str, key: &str, entity: &str) -> (u16, Value) {
    app.client
        .get(app.url(&format!("/api/v1/flags/{key}/evaluate?entity={entity}")))
        .bearer_auth(secret)
        .answer()
        .await
}

/// A token with `scopes`, bound (for flags) to `production`.
async fn flag_token(app: &TestApp, scopes: &[Scope]) -> String {
    flag_token_in(app, scopes, "production").await
}

async fn flag_token_in(app: &TestApp, scopes: &[Scope], environment: &str) -> String {
    let environment = scopes.contains(&Scope::FlagsRead).then_some(environment);
    tokens::create(
        &app.state.store,
        &Actor::System,
        &ClientInfo::default(),
        "flag reader",
        scopes,
        environment,
        &common::environments(),
    )
    .await
    .unwrap()
    .secret
}

on_both_backends! {
    gates => gates_follow_the_rules;
}

async fn gates_follow_the_rules(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app
        .signed_in("olga", &[Role::Operator, Role::Approver])
        .await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let bob = app.signed_in("bob", &[Role::Approver]).await;
    let vic = app.signed_in("vic", &[Role::Viewer]).await;
    let flags = flag_token(&app, &[Scope::FlagsRead]).await;

    // A viewer cannot import; an operator can.
    let import = |who: reqwest::Client| {
        let url = app.url("/api/v1/plans");
        async move {
            who.post(url)
                .header("Content-Type", "application/toml")
                .body(PLAN)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(import(vic.clone()).await.status(), 403);
    let res = import(olga.clone()).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["status"], "draft");
    let plan = Plan {
        app: &app,
        id: created["id"].as_str().unwrap().to_string(),
    };
    // Exported exactly as imported.
    let src = olga
        .get(app.url(&format!("/api/v1/plans/{}/source", plan.id)))
        .body_text()
        .await;
    assert_eq!(src, PLAN);

    let view = plan.view(&olga).await;
    let pilot = view["phases"][0]["id"].as_str().unwrap().to_string();
    let everyone = view["phases"][1]["id"].as_str().unwrap().to_string();
    let item = view["phases"][0]["checklist"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Phases go in order: the second cannot start first.
    refused(
        plan.on_phase(&olga, "start_phase", &everyone).await,
        409,
        "\"pilot\" comes first",
    );
    assert_eq!(
        evaluate(&app, &flags, "gate_rules", "org-1").await.1["reason"],
        "disabled"
    );

    let (status, body) = plan.on_phase(&olga, "start_phase", &pilot).await;
    assert_eq!(status, 200, "{body}");
    let view = plan.view(&olga).await;
    assert_eq!(view["summary"]["status"], "active");
    assert_eq!(exposure(&view, "production"), 500);

    // Approval needs the checklist ticked first.
    refused(
        plan.on_phase(&olga, "request_approval", &pilot).await,
        409,
        "Rollback plan reviewed",
    );
    let (status, _) = plan
        .command(
            &olga,
            json!({"command": "tick", "item_id": item, "ticked": true, "comment": "done with SRE"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = plan.on_phase(&olga, "request_approval", &pilot).await;
    assert_eq!(status, 200);
    let evidence = plan.phase(&olga, 0).await["evidence_hash"]
        .as_str()
        .unwrap()
        .to_string();
    let decide = |verdict: &str, evidence: &str| json!({"command": "decide", "phase_id": pilot, "verdict": verdict, "comment": "", "evidence": evidence});

    // The requester cannot approve their own gate, though they hold the role.
    refused(
        plan.command(&olga, decide("approve", &evidence)).await,
        403,
        "someone else must decide",
    );
    // A viewer cannot approve at all.
    let (status, body) = plan.command(&vic, decide("approve", &evidence)).await;
    assert_eq!(status, 403, "{body}");

    // Two approvals by one person at once (double click, two tabs): one row.
    let (a, b) = tokio::join!(
        plan.command(&ann, decide("approve", &evidence)),
        plan.command(&ann, decide("approve", &evidence))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let phase = plan.phase(&olga, 0).await;
    assert_eq!(phase["approvals"], 1);
    let ann_rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM approvals a JOIN users u ON u.id = a.user_id WHERE u.username = 'ann'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(ann_rows, 1);

    // Changing the phase's configuration dismisses the approval given on it.
    let revision = plan.view(&olga).await["summary"]["revision"]
        .as_i64()
        .unwrap();
    let edited = PLAN.replacen("exposure_bp = 500", "exposure_bp = 400", 1);
    let res = olga
        .put(app.url(&format!(
            "/api/v1/plans/{}/source?revision={revision}",
            plan.id
        )))
        .body(edited.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let phase = plan.phase(&olga, 0).await;
    assert_eq!(phase["approvals"], 0, "{phase}");
    assert_eq!(phase["status"], "awaiting_approval");
    assert!(phase["decisions"][0]["dismissed_reason"]
        .as_str()
        .unwrap()
        .contains("edited"));
    assert_eq!(
        exposure(&plan.view(&olga).await, "production"),
        400,
        "the running phase's lower exposure applies at once"
    );
    // A stale editor cannot overwrite.
    let (status, body) = olga
        .put(app.url(&format!(
            "/api/v1/plans/{}/source?revision={revision}",
            plan.id
        )))
        .body(PLAN)
        .answer_text()
        .await;
    assert_eq!(status, 409);
    assert!(body.contains("changed since you opened it"), "{body}");

    // A decision on the old evidence is refused; on the new one it counts.
    refused(
        plan.command(&bob, decide("approve", &evidence)).await,
        409,
        "changed since you loaded it",
    );
    let fresh = phase["evidence_hash"].as_str().unwrap().to_string();
    assert_ne!(fresh, evidence);
    for who in [&ann, &bob] {
        let (status, body) = plan.command(who, decide("approve", &fresh)).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(plan.phase(&olga, 0).await["status"], "approved");

    // Approved, but the pilot must soak an hour: the next phase cannot start.
    refused(
        plan.on_phase(&olga, "start_phase", &everyone).await,
        409,
        "must soak 1 h more",
    );

    // Rollback needs the plan's name typed.
    let rollback = |kind: &str, confirm: &str, entity: &str| json!({"command": "rollback", "kind": kind, "confirm": confirm, "reason": "error rate", "entity": entity});
    let (status, body) = plan
        .command(&olga, rollback("standard", "gate rules", ""))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_confirmed"))
    );
    assert!(
        error_of(&body).contains("type the plan's name exactly"),
        "{body}"
    );
    // One organisation alone.
    let on_before = evaluate(&app, &flags, "gate_rules", "org-7").await.1;
    let (status, _) = plan
        .command(&olga, rollback("entity", "Gate rules", "org-7"))
        .await;
    assert_eq!(status, 200);
    let (_, eval) = evaluate(&app, &flags, "gate_rules", "org-7").await;
    assert_eq!(eval["value"], false);
    assert_eq!(eval["reason"], "denied");
    assert_eq!(eval["bucket"], on_before["bucket"]);
    // Standard: the pilot goes back to pending, exposure to 0 (no phase before).
    let (status, body) = plan
        .command(&olga, rollback("standard", "Gate rules", ""))
        .await;
    assert_eq!(status, 200, "{body}");
    let view = plan.view(&olga).await;
    assert_eq!(view["phases"][0]["status"], "pending");
    assert_eq!(exposure(&view, "production"), 0);
    assert_eq!(view["summary"]["status"], "active");

    // The audit trail has every step, with its actor.
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_name, action FROM audit_events WHERE subject = $1 ORDER BY seq",
    )
    .bind(format!("plan:{}", plan.id))
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    let expected = [
        ("olga", "plan.import"),
        ("olga", "plan.activate"),
        ("olga", "phase.start"),
        ("olga", "checklist.tick"),
        ("olga", "gate.request"),
        ("ann", "gate.approve"),
        ("olga", "plan.edit"),
        ("olga", "gate.dismiss"),
        ("ann", "gate.approve"),
        ("bob", "gate.approve"),
        ("olga", "flag.deny"),
        ("olga", "plan.rollback.standard"),
    ];
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(got, expected);
    app.stop().await;
}

#[tokio::test]
async fn emergency_rollback_turns_the_flag_off_for_everyone() {
    let app = TestApp::spawn(common::Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let admin = app.signed_in("root", &[Role::Admin]).await;
    let flags = flag_token(&app, &[Scope::FlagsRead]).await;
    let dev_flags = flag_token_in(&app, &[Scope::FlagsRead], "dev").await;
    let audit_only = flag_token(&app, &[Scope::AuditRead]).await;
    let res = olga
        .post(app.url("/api/v1/plans/from-template"))
        .json(&json!({"template": "partitioned-tables", "name": "Partitions EU", "flag_key": "partitions_eu"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plan = Plan {
        app: &app,
        id: res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string(),
    };
    let src = olga
        .get(app.url(&format!("/api/v1/plans/{}/source", plan.id)))
        .body_text()
        .await;
    assert!(
        src.contains("name = \"Partitions EU\"") && src.starts_with('#'),
        "comments kept"
    );
    let dev = plan.phase(&olga, 0).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = plan.on_phase(&olga, "start_phase", &dev).await;
    assert_eq!(status, 200);

    // Evaluation: needs flags:read; says what is wrong otherwise.
    assert_eq!(
        evaluate(&app, &audit_only, "partitions_eu", "org-1")
            .await
            .0,
        403
    );
    assert_eq!(evaluate(&app, &flags, "no_such_flag", "org-1").await.0, 404);
    assert_eq!(evaluate(&app, &flags, "partitions_eu", "").await.0, 400);
    let ids: Vec<String> = (0..200).map(|i| format!("org-{i}")).collect();
    // Dev at 100 % is dev's business: production stays off.
    for id in &ids {
        assert_eq!(
            evaluate(&app, &dev_flags, "partitions_eu", id).await.1["value"],
            true,
            "dev is at 100 %"
        );
        let (_, prod) = evaluate(&app, &flags, "partitions_eu", id).await;
        assert_eq!(prod["value"], false, "production is untouched by dev");
        assert_eq!(prod["environment"], "production");
    }

    // An admin override is recorded as such.
    let phase = plan.phase(&olga, 0).await;
    let (status, body) = plan
        .command(&admin, json!({"command": "override", "phase_id": dev, "reason": "", "evidence": phase["evidence_hash"]}))
        .await;
    assert_eq!(status, 400, "an override needs a reason: {body}");
    let (status, _) = plan
        .command(&admin, json!({"command": "override", "phase_id": dev, "reason": "dev only, approved in chat", "evidence": phase["evidence_hash"]}))
        .await;
    assert_eq!(status, 200);
    let phase = plan.phase(&olga, 0).await;
    assert_eq!(phase["status"], "approved");
    assert_eq!(phase["overridden"], true);
    assert_eq!(phase["decisions"][0]["verdict"], "override");

    let (status, body) = plan
        .command(&olga, json!({"command": "rollback", "kind": "emergency", "confirm": "Partitions EU", "reason": "p95 doubled", "entity": ""}))
        .await;
    assert_eq!(status, 200, "{body}");
    for id in &ids {
        for token in [&flags, &dev_flags] {
            let (_, eval) = evaluate(&app, token, "partitions_eu", id).await;
            assert_eq!(eval["value"], false);
            assert_eq!(eval["reason"], "disabled");
        }
    }
    let view = plan.view(&olga).await;
    assert_eq!(view["summary"]["status"], "rolled_back");
    // Final: nothing more runs on it.
    refused(
        plan.command(&olga, json!({"command": "complete"})).await,
        409,
        "final",
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_plan_files_store_nothing_and_say_where() {
    let app = TestApp::spawn(common::Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let bad = PLAN.replace("exposure_bp = 500", "exposure_bp = 50000");
    refused(
        olga.post(app.url("/api/v1/plans")).body(bad).answer().await,
        400,
        "9:15: phases[0].exposure_bp: 50000 is outside 0..=10000",
    );
    let plans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM plans")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(plans, 0);
    // The OpenAPI document lists the plan API.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/v1/plans",
        "/api/v1/plans/{id}/commands",
        "/api/v1/flags/{key}/evaluate",
        "/api/v1/audit/events",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    app.stop().await;
}
