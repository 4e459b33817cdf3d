//! Plans' HTTP statuses as a client relies on them: not found is 404, an
//! edit from a stale revision 409, and a target that does not answer 503
//! (the console's dependency failing, not the caller's mistake), with
//! nothing stored.
use crate::common;
use crate::common::{TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};

on_both_backends! {
    missing_things_are_404_and_a_stale_revision_is_409 => statuses;
}

/// Not found is 404 (it was 400 for a backfill job); an edit from a stale
/// revision is 409 (it was 400).
async fn statuses(db: TestDb) {
    let store = db.store().await;
    let app = TestApp::spawn_on(db, store).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let res = olga
        .post(app.url("/api/v1/plans"))
        .body(common::SCHOOL_PLAN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plan: Value = res.json().await.unwrap();
    let id = plan["id"].as_str().unwrap();
    let start = |path: String| {
        olga.post(app.url(&path))
            .json(&json!({ "mode": "dry_run" }))
            .send()
    };
    let res = start(format!("/api/v1/plans/{id}/jobs/nosuch/runs"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("nosuch") && body.contains("school"),
        "names the jobs there are: {body}"
    );
    let res = start("/api/v1/plans/0123456789abcdef0123456789abcdef/jobs/school/runs".into())
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = olga
        .get(app.url("/api/v1/plans/0123456789abcdef0123456789abcdef"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = olga
        .get(app.url("/api/v1/plans/0123456789abcdef0123456789abcdef/runs"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "an unknown plan's runs are not an empty list"
    );

    let edited = common::SCHOOL_PLAN.replace("chunk = 100", "chunk = 200");
    let save = |revision: i64| {
        olga.put(app.url(&format!("/api/v1/plans/{id}/source?revision={revision}")))
            .header("Content-Type", "application/toml")
            .body(edited.clone())
            .send()
    };
    assert_eq!(save(1).await.unwrap().status(), 200);
    let res = save(1).await.unwrap();
    assert_eq!(res.status(), 409, "revision 1 is stale now");
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("changed since you opened it"));
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
            server::config::TargetConfig {
                url: Some("postgres://nobody:s3cret@127.0.0.1:1/app".into()),
                url_env: None,
                allow_superuser: false,
                environment: None,
            },
        );
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let res = olga
        .post(app.url("/api/v1/plans"))
        .body(common::SCHOOL_PLAN)
        .send()
        .await
        .unwrap();
    let plan: Value = res.json().await.unwrap();
    let id = plan["id"].as_str().unwrap();
    let res = olga
        .post(app.url(&format!("/api/v1/plans/{id}/jobs/school/runs")))
        .json(&json!({ "mode": "dry_run" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("target t") && !body.contains("s3cret"),
        "names the target, never its password: {body}"
    );
    let runs: Vec<Value> = olga
        .get(app.url(&format!("/api/v1/plans/{id}/runs")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    app.stop().await;
}
