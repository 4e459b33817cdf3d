//! What an approver and an operator are told, on both store backends: the
//! plan file's edits since the last approval; approving while a check of the phase is not met needs a comment naming
//! why (the refusal names the item); the next phase's start blockers name
//! every unmet item of the phase before it and give the soak's end as a
//! date.

use crate::common::{PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::json;

use crate::common::fixtures::APPROVER_SEES as PLAN;

on_both_backends! {
    approving_over_an_unmet_check_needs_a_comment_and_blockers_name_items => approver_sees;
}

async fn approver_sees(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    assert_eq!(plan.view(&ann).await["edits_since_approval"], json!([]));
    // An edit before anyone approved: the approver is shown it, with who and what.
    let edited = PLAN.replace("exposure_bp = 10000", "exposure_bp = 5000");
    let (status, body) = plan.edit(&olga, None, &edited).await;
    assert_eq!(status, 200, "{body}");
    let edits = plan.view(&ann).await["edits_since_approval"].clone();
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{edits}");
    assert_eq!(edits[0]["by"], "olga");
    assert!(
        edits[0]["changes"].to_string().contains("everyone"),
        "{edits}"
    );
    let pilot = plan.phase(&olga, 0).await["id"].clone();
    let (status, body) = plan.on_phase(&olga, "start_phase", &pilot).await;
    assert_eq!(status, 200, "{body}");

    // Nothing ticked: the next phase names what blocks it.
    let blockers = plan.phase(&olga, 1).await["start_blockers"].to_string();
    assert!(
        blockers.contains(
            r#"checklist of phase \"pilot\" is not complete: \"Backup taken\" is not ticked"#
        ),
        "{blockers}"
    );
    assert!(
        blockers.contains(r#"\"Two hours at 5 %\": "#),
        "the automatic item too: {blockers}"
    );
    assert!(
        blockers.contains("must soak 2 h more (until 20") && blockers.contains(" UTC)"),
        "a date, not epoch milliseconds: {blockers}"
    );

    let item = plan.phase(&olga, 0).await["checklist"][0]["id"].clone();
    let tick = json!({"command": "tick", "item_id": item, "ticked": true, "comment": ""});
    assert_eq!(plan.command(&olga, tick).await.0, 200);
    let request = json!({"command": "request_approval", "phase_id": pilot});
    assert_eq!(plan.command(&olga, request).await.0, 200);

    // The soak has not passed: approving without a word is refused, naming it.
    let evidence = plan.phase(&ann, 0).await["evidence_hash"].clone();
    let silent = json!({"command": "decide", "phase_id": pilot, "verdict": "approve", "comment": "", "evidence": evidence});
    let (status, body) = plan.command(&ann, silent).await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Two hours at 5 %") && error.contains("needs a comment"),
        "{error}"
    );
    assert_eq!(plan.phase(&ann, 0).await["status"], "awaiting_approval");
    let said = json!({"command": "decide", "phase_id": pilot, "verdict": "approve", "comment": "the soak is the only open item; watched it live", "evidence": evidence});
    let (status, body) = plan.command(&ann, said).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plan.phase(&ann, 0).await["status"], "approved");
    assert_eq!(
        plan.view(&ann).await["edits_since_approval"],
        json!([]),
        "nothing changed since this approval"
    );
    app.stop().await;
}
