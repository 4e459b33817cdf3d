//! A job's window: a run outside it waits (on the plans' clock, which the
//! test moves), says until when, and goes on inside it; an operator may let
//! a waiting run go on with a reason, which is audited.
use super::*;
use crate::common::{Fetch, PlanApi, TestApp};
use server::clock::Clock;
use std::time::{Duration, Instant};

/// A two-hour window that opens two hours from now (UTC).
fn window_later() -> String {
    let hm = |ms: i64| {
        let minutes = (ms / 60_000).rem_euclid(24 * 60);
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    };
    let now = server::system::now_ms();
    format!(
        "window = {{ from = \"{}\", to = \"{}\", time_zone = \"UTC\" }}",
        hm(now + 2 * 3_600_000),
        hm(now + 4 * 3_600_000)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_outside_its_window_waits_until_it_opens() {
    let plan = job_with(&format!("chunk = 500\n{}", window_later()));
    let s = on_sqlite_console(Backend::Sqlite, 2_000, &plan).await;
    let clock = Clock::default();
    let mut runner = s
        .try_start(Start {
            clock: clock.clone(),
            ..s.start(Mode::Run)
        })
        .await
        .unwrap();
    let id = runner.run.id.clone();
    let task = tokio::spawn(async move { runner.run(|_| {}).await.unwrap() });
    let started = Instant::now();
    let waiting = loop {
        let run = runs::get(&s.store, &id).await.unwrap().unwrap();
        if run.result["kind"] == "window" {
            break run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            run.result
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let why = waiting.result["waiting"].as_str().unwrap();
    assert!(
        why.starts_with("outside the job's window")
            && why.contains("waits until")
            && why.ends_with(" UTC"),
        "{why}"
    );
    let opens = waiting.result["until_ms"].as_i64().unwrap();
    assert!(opens > clock.now_ms() + 3_500_000, "{opens}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let run = runs::get(&s.store, &id).await.unwrap().unwrap();
    assert_eq!((run.processed, run.status), (0, runs::RunStatus::Running));

    // The clock reaches the window: the run goes on and finishes.
    clock.advance(2 * 3_600_000 + 60_000);
    let outcome = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the run went on inside its window")
        .unwrap();
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(
        s.count(NEW).await,
        s.count(LEGACY).await - s.count(BROKEN).await
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'backfill.%' ORDER BY seq",
    )
    .fetch_all(s.store.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "backfill.start",
            "backfill.wait",
            "backfill.proceed",
            "backfill.finish"
        ]
    );
}

/// Over REST: a waiting run is let go with a reason (refused without one,
/// or for a viewer); the override names who and why in the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_overrides_the_window_with_a_reason_and_it_is_audited() {
    let target_db = TestDb::new(Backend::Sqlite).await;
    let targets = crate::common::targets::one("t", &target_db.database_url(), None, true);
    let t = target::connect(&targets, "t").await.unwrap();
    demo::seed(&t.pool, t.backend(), 2_000).await.unwrap();
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets.clone())
    })
    .await;
    let olga = app.signed_in("olga", &[app::access::Role::Operator]).await;
    let vic = app.signed_in("vic", &[app::access::Role::Viewer]).await;
    let plan = PlanApi::import(
        &app,
        &olga,
        &job_with(&format!("chunk = 500\n{}", window_later())),
    )
    .await;
    let id = plan.started_in_dev(&olga, "school").await;
    plan.run_until(&olga, &id, 20, |run| run["result"]["kind"] == "window")
        .await;
    let url = app.url(&format!("/api/v1/runs/{id}/window-override"));
    let (status, body) = olga
        .post(&url)
        .json(&serde_json::json!({ "reason": "  " }))
        .answer()
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(crate::common::error_of(&body).contains("say why the run may go on outside its window"));
    let (status, _) = vic
        .post(&url)
        .json(&serde_json::json!({ "reason": "no" }))
        .answer()
        .await;
    assert_eq!(status, 403);
    let reason = "INC-7: the fix must be in before the morning peak";
    let (status, body) = olga
        .post(&url)
        .json(&serde_json::json!({ "reason": reason }))
        .answer()
        .await;
    assert_eq!(status, 202, "{body}");
    let done = plan.settled(&olga, &id, 30).await;
    assert_eq!(done["status"], "done", "{done}");
    let (actor, details): (String, String) = sqlx::query_as(
        "SELECT actor_name, details FROM audit_events WHERE action = 'backfill.window_override'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(actor, "olga");
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["reason"], reason);
    assert_eq!(details["run"], id.as_str());
    assert!(
        details["window"].as_str().unwrap().ends_with(" UTC"),
        "{details}"
    );
    // A finished run waits for nothing: a second override is refused.
    let (status, _) = olga
        .post(&url)
        .json(&serde_json::json!({ "reason": reason }))
        .answer()
        .await;
    assert_eq!(status, 409);
    app.stop().await;
}
