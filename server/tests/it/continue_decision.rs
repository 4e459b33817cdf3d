//! Seed 004's decision matrix answers some issues with "continue (it has a
//! fallback)": cache unavailable, replica lag. That decision is recorded,
//! with the issue and why, in the trail (`plan.continue`) and on the
//! timeline; it needs a running phase, both texts and a writer.
use crate::common::{error_of, Backend, PlanApi, TestApp};
use app::access::Role;
use serde_json::json;

use crate::common::fixtures::CONTINUE_DECISION as PLAN;

#[tokio::test]
async fn a_continue_decision_is_recorded_with_the_issue_and_why() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let vera = app.signed_in("vera", &[Role::Viewer]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let go_on = json!({"command": "continue", "issue": "cache unavailable",
        "reason": "the application falls back to the database; latency is within bounds"});
    let (status, body) = plan.command(&olga, go_on.clone()).await;
    assert_eq!(status, 409, "a draft has nothing running: {body}");
    assert!(error_of(&body).contains("nothing runs"), "{body}");
    let id = plan.phase(&olga, 0).await["id"].clone();
    let (status, _) = plan.on_phase(&olga, "start_phase", &id).await;
    assert_eq!(status, 200);
    let (status, body) = plan
        .command(
            &olga,
            json!({"command": "continue", "issue": " ", "reason": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).starts_with("issue: say why"), "{body}");
    let (status, _) = plan.command(&vera, go_on.clone()).await;
    assert_eq!(status, 403, "a viewer decides nothing");
    let (status, body) = plan.command(&olga, go_on).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("goes on despite"),
        "{body}"
    );
    let details: String =
        sqlx::query_scalar("SELECT details FROM audit_events WHERE action = 'plan.continue'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    let d: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(
        (&d["phase"], &d["environment"], &d["issue"]),
        (
            &json!("production 5%"),
            &json!("production"),
            &json!("cache unavailable")
        )
    );
    // Nothing else changed: production stays at 5 %.
    let view = plan.view(&olga).await;
    let production = crate::common::for_env(&view["flag"]["environments"], "production");
    assert_eq!(production["exposure_bp"], 500);
    app.stop().await;
}
