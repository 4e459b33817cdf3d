//! Plans' HTTP statuses and error codes as a client relies on them: not
//! found is 404; an edit from a stale revision 409 `stale_revision`, a name
//! taken 409 `already_exists`, a command the plan's state refuses 409
//! `wrong_state`, a token ticking a checklist 403 `forbidden`; and a target
//! that does not answer 503 (the console's dependency failing, not the
//! caller's mistake), with nothing stored.
use crate::common;
use crate::common::Fetch;
use crate::common::{TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};

on_both_backends! {
    missing_things_are_404_and_conflicts_are_409_with_their_code => statuses;
}

use crate::common::fixtures::PLAN_STATUSES_TICKS as TICKS;

/// Not found is 404 (it was 400 for a backfill job); an edit from a stale
/// revision, a second plan of the same name and a command the plan's state
/// refuses are 409 with a code each (they were 400 and "conflict"); a token
/// ticking a checklist is 403 (it was 400).
async fn statuses(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let school = common::PlanApi::import(&app, &olga, common::SCHOOL_PLAN).await;
    let plan = school.view(&olga).await["summary"].clone();
    let id = school.id.as_str();
    let start = |path: String| {
        olga.post(app.url(&path))
            .json(&json!({ "mode": "dry_run" }))
            .answer_text()
    };
    let (status, body) = start(format!("/api/v1/plans/{id}/jobs/nosuch/runs")).await;
    assert_eq!(status, 404);
    assert!(
        body.contains("nosuch") && body.contains("school"),
        "names the jobs there are: {body}"
    );
    let unknown = "/api/v1/plans/0123456789abcdef0123456789abcdef";
    assert_eq!(start(format!("{unknown}/jobs/school/runs")).await.0, 404);
    for (path, why) in [
        (unknown.to_string(), "an unknown plan"),
        (
            format!("{unknown}/runs"),
            "an unknown plan's runs are not an empty list",
        ),
    ] {
        assert_eq!(olga.get(app.url(&path)).answer().await.0, 404, "{why}");
    }

    let edited = common::SCHOOL_PLAN.replace("chunk = 100", "chunk = 200");
    let save = |revision: i64| {
        olga.put(app.url(&format!("/api/v1/plans/{id}/source?revision={revision}")))
            .header("Content-Type", "application/toml")
            .body(edited.clone())
            .send()
    };
    assert_eq!(save(1).await.unwrap().status(), 200);
    let coded = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        (
            status,
            body["code"].as_str().unwrap().to_string(),
            common::error_of(&body),
        )
    };
    let (status, code, error) = coded(save(1).await.unwrap()).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "stale_revision"),
        "revision 1 is stale now: {error}"
    );
    assert!(error.contains("changed since you opened it"), "{error}");

    let again = olga
        .post(app.url("/api/v1/plans"))
        .body(common::SCHOOL_PLAN)
        .send();
    let (status, code, error) = coded(again.await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "already_exists"), "{error}");
    assert!(error.contains("exists; choose another name"), "{error}");

    let coded_body = |body: &Value| {
        (
            body["code"].as_str().unwrap_or_default().to_string(),
            common::error_of(body),
        )
    };
    let (status, body) = school
        .command(
            &olga,
            json!({"command": "complete", "confirm": plan["name"]}),
        )
        .await;
    let (code, error) = coded_body(&body);
    assert_eq!(
        (status, code.as_str()),
        (409, "wrong_state"),
        "a draft cannot complete: {error}"
    );

    // A token may not tick: a checklist item is a person's word.
    let ticks = common::PlanApi::import(&app, &olga, TICKS).await;
    let phase = ticks.phase(&olga, 0).await;
    let (status, body) = ticks.on_phase(&olga, "start_phase", &phase["id"]).await;
    assert_eq!(status, 200, "{body}");
    let pipeline = app.pipeline(server::audit::Actor::System).await;
    let tick = json!({"command": "tick", "item_id": phase["checklist"][0]["id"], "ticked": true, "comment": ""});
    let (status, body) = ticks.command(&pipeline, tick).await;
    let (code, error) = coded_body(&body);
    assert_eq!((status, code.as_str()), (403, "forbidden"), "{error}");
    assert!(
        error.contains("with an API token: it needs a person signed in"),
        "{error}"
    );
    app.stop().await;
}

on_both_backends! {
    a_target_that_does_not_answer_is_503_and_records_nothing => unavailable_target;
}

/// A target database that does not answer is the console's dependency
/// failing, not the caller's mistake: 503, saying which target, and no run.
async fn unavailable_target(db: TestDb) {
    let app = TestApp::spawn_db_with(db, |c| {
        c.targets.insert(
            "t".into(),
            crate::common::targets::config("postgres://nobody:s3cret@127.0.0.1:1/app", None, false),
        );
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let id = common::PlanApi::import(&app, &olga, common::SCHOOL_PLAN)
        .await
        .id;
    let (status, body) = olga
        .post(app.url(&format!("/api/v1/plans/{id}/jobs/school/runs")))
        .json(&json!({ "mode": "dry_run" }))
        .answer_text()
        .await;
    assert_eq!(status, 503);
    assert!(
        body.contains("target t") && !body.contains("s3cret"),
        "names the target, never its password: {body}"
    );
    let runs: Vec<Value> = olga
        .get(app.url(&format!("/api/v1/plans/{id}/runs")))
        .body_json()
        .await;
    assert!(runs.is_empty(), "{runs:?}");
    app.stop().await;
}
