//! Pilot targeting, on both store backends: entities go on one
//! environment's allow list by hand, from the phase's `allow = [...]` when it
//! starts, and from its read-only `allow_query` on a target; each change is
//! audited with its reason; a pilot rolled back (the first phase in its
//! environment) leaves nobody allowed; plan SQL in `allow_query` stays in
//! its box.

use crate::common::Fetch;
use crate::common::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};
use server::backfill::target;

use crate::common::fixtures::PILOT as PLAN;

on_both_backends! {
    pilot_allow_lists_by_hand_from_the_plan_file_and_from_a_query => pilot;
}

async fn pilot(db: TestDb) {
    let crm = TestDb::new(Backend::Sqlite).await;
    let targets = crate::common::targets::one("crm", &crm.database_url(), Some("production"), true);
    let t = target::connect(&targets, "crm").await.unwrap();
    for sql in [
        "CREATE TABLE pilot_orgs (org_id TEXT PRIMARY KEY, opted_in BIGINT NOT NULL)",
        "INSERT INTO pilot_orgs VALUES ('org-101', 1), ('org-102', 1), ('org-103', 0)",
    ] {
        sqlx::query(sql).execute(&t.pool).await.unwrap();
    }
    let app = TestApp::spawn_db_with(db, |c| c.targets.extend(targets.clone())).await;
    walk(&app).await;
    app.stop().await;
}

async fn allowed(app: &TestApp, env: &str) -> Vec<String> {
    let rule = app
        .state
        .flag_cache
        .get(&app.state.store, "partitioned", env)
        .await
        .unwrap()
        .unwrap();
    rule.allow.into_iter().collect()
}

async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT details FROM audit_events WHERE action = $1 ORDER BY seq")
            .bind(action)
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    rows.iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

async fn walk(app: &TestApp) {
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let vic = app.signed_in("vic", &[Role::Viewer]).await;
    // Plan SQL in allow_query is read-only: a write is refused at import.
    let bad = PLAN.replace(
        "SELECT org_id FROM pilot_orgs WHERE opted_in = 1 ORDER BY org_id",
        "DELETE FROM pilot_orgs",
    );
    let (status, body) = olga
        .post(app.url("/api/v1/plans"))
        .body(bad)
        .answer_text()
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("phases[0].allow_query.sql"), "{body}");

    let plan = PlanApi::import(app, &olga, PLAN).await;
    let phase = plan.phase(&olga, 0).await;
    assert_eq!(phase["pilot"], json!(["org-7"]));
    assert_eq!(phase["allow_query_target"], "crm");
    let phase_id = phase["id"].as_str().unwrap().to_string();

    // By hand: one environment, with a reason; mistakes are named.
    let allow = |env: &str, entities: Value, reason: &str| json!({"command": "allow", "environment": env, "entities": entities, "reason": reason});
    let (status, body) = plan
        .command(&vic, allow("production", json!(["org-1"]), "pilot"))
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = plan
        .command(&olga, allow("moon", json!(["org-1"]), "pilot"))
        .await;
    assert_eq!(status, 400);
    assert!(crate::common::error_of(&body).contains("not one of the console's environments"));
    let (status, body) = plan
        .command(&olga, allow("production", json!(["org-1"]), " "))
        .await;
    assert_eq!(status, 400);
    assert!(crate::common::error_of(&body).contains("reason: say why"));
    let (status, body) = plan
        .command(
            &olga,
            allow(
                "production",
                json!(["org-1", "org-2"]),
                "hand-picked by sales",
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(allowed(app, "production").await, ["org-1", "org-2"]);
    assert!(allowed(app, "staging").await.is_empty(), "only production");
    let (status, _) = plan
        .command(&olga, allow("production", json!(["org-1"]), "again"))
        .await;
    assert_eq!(status, 409, "already on it");

    // From the phase's query on its target: opted-in organisations only.
    let load = json!({"command": "load_allow_query", "phase_id": phase_id, "reason": "CRM pilot list of today"});
    let (status, body) = plan.command(&olga, load).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        allowed(app, "production").await,
        ["org-1", "org-101", "org-102", "org-2"]
    );
    let events = audited(app, "flag.allow").await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["reason"], "hand-picked by sales");
    assert_eq!(events[1]["source"]["allow_query"]["target"], "crm");
    assert_eq!(events[1]["added"], json!(["org-101", "org-102"]));

    // Starting the phase adds its own pilot; allowed entities are on
    // whatever their bucket.
    let (status, body) = plan.on_phase(&olga, "start_phase", &phase_id).await;
    assert_eq!(status, 200, "{body}");
    assert!(allowed(app, "production")
        .await
        .contains(&"org-7".to_string()));
    // The pilot is never hidden behind its percentage: the message, the
    // plan's exposures and the audit event count who is allowed.
    let on = allowed(app, "production").await.len();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("1 % + {on} allowed")),
        "{message}"
    );
    let summary = plan.view(&olga).await["summary"]["exposures"].clone();
    let production = crate::common::for_env(&summary, "production");
    assert_eq!(
        (
            production["exposure_bp"].as_i64(),
            production["allowed"].as_u64()
        ),
        (Some(100), Some(on as u64)),
        "{summary}"
    );
    assert_eq!(
        audited(app, "phase.start").await[0]["allowed_now"],
        on,
        "in the trail"
    );
    let res = olga
        .get(app.url("/api/v1/flags/partitioned/evaluate?entity=org-101&environment=production"))
        .send()
        .await
        .unwrap();
    let eval: Value = res.json().await.unwrap();
    assert_eq!(
        (&eval["value"], &eval["reason"]),
        (&json!(true), &json!("allowed")),
        "{eval}"
    );

    // One off by hand, audited.
    let (status, body) = plan
        .command(&olga, json!({"command": "disallow", "environment": "production", "entity": "org-2", "reason": "asked to leave"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = plan
        .command(&olga, json!({"command": "disallow", "environment": "production", "entity": "org-2", "reason": "again"}))
        .await;
    assert_eq!(status, 409, "no longer on the list");
    assert_eq!(audited(app, "flag.disallow").await[0]["entity"], "org-2");

    // Standard rollback of the first production phase: nobody stays on.
    let (status, body) = plan
        .command(&olga, json!({"command": "rollback", "kind": "standard", "confirm": "Pilot", "reason": "errors", "entity": ""}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(allowed(app, "production").await.is_empty());
    let rolled = &audited(app, "plan.rollback.standard").await[0]["exposures"]["production"];
    assert_eq!(rolled["after_allowed"], 0, "{rolled}");
    assert!(rolled["before_allowed"].as_u64().unwrap() > 0, "{rolled}");
}
