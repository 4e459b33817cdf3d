//! Runs the server drives: retuned live, guarded, paused and retuned with
//! who asked audited, and their metrics.
use super::*;
use crate::common::Fetch;

/// Chunk size and rate change while the job runs, from its next chunk on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_size_and_rate_are_retuned_live() {
    let plan = job_with("chunk = 50\nfixed_chunk = true\nmax_rows_per_sec = 2000");
    let s = on_sqlite_console(Backend::Sqlite, 20_000, &plan).await;
    let mut runner = s.runner(Mode::Run, None).await;
    let control = runner.control.clone();
    let sizes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let started = std::time::Instant::now();
    let task = tokio::spawn(async move {
        let o = runner
            .run(move |r| seen.lock().unwrap().push(r.keys))
            .await
            .unwrap();
        (o, runner.run)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    control.retune(Some(1000), Some(0));
    let (outcome, run) = task.await.unwrap();
    assert_eq!(outcome, Outcome::Done);
    let sizes = sizes.lock().unwrap().clone();
    assert_eq!(sizes[0], 50);
    assert!(sizes.contains(&1000), "{sizes:?}");
    assert_eq!(run.chunk_size, 1000);
    assert_eq!(run.max_rows_per_sec, 0);
    // At 2000 rows/s the ~11,000 rows would take 5.5 s; unthrottled, far less.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

/// Runs started over REST by a signed-in operator: the server runs them,
/// lists them, and counts their rows in Prometheus metrics that promtool
/// accepts; a viewer cannot start one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_runs_report_metrics() {
    let (target_db, target_url, app) = app_on_a_sqlite_target(true).await;
    let targets = crate::common::targets::one("t", &target_url, None, true);
    let t = target::connect(&targets, "t").await.unwrap();
    demo::seed(&t.pool, t.backend(), 5_000).await.unwrap();
    let olga = app.signed_in("olga", &[app::access::Role::Operator]).await;
    let vic = app.signed_in("vic", &[app::access::Role::Viewer]).await;
    let plan_id = common::PlanApi::import(&app, &olga, PLAN).await.id;
    let start = |who: &reqwest::Client, mode: &str| {
        who.post(app.url(&format!("/api/v1/plans/{plan_id}/jobs/school/runs")))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
    };
    assert_eq!(start(&vic, "run").await.unwrap().status(), 403);
    let res = start(&olga, "sideways").await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "one error shape"
    );
    let error = res.json::<serde_json::Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("body: mode: unknown variant `sideways`")
            && error.contains("`run`, `dry_run`, `undo`, `verify`"),
        "{error}"
    );
    for mode in ["dry_run", "run"] {
        let res = start(&olga, mode).await.unwrap();
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        let run_id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let started = std::time::Instant::now();
        loop {
            let runs: Vec<serde_json::Value> = olga
                .get(app.url(&format!("/api/v1/plans/{plan_id}/runs")))
                .body_json()
                .await;
            let run = runs.iter().find(|r| r["id"] == run_id.as_str()).unwrap();
            if run["status"] == "done" {
                break;
            }
            assert_eq!(run["status"], "running");
            assert!(started.elapsed().as_secs() < 30);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    let created = "rollout_backfill_rows_total{job=\"school\",outcome=\"created\",plan=\"STI\"}";
    let line = text
        .lines()
        .find(|l| l.starts_with(created))
        .unwrap_or_else(|| panic!("{text}"));
    let legacy = 2750 - 1; // 55 % school of 5,000, less id 20 (broken)
    assert_eq!(line.split_whitespace().last().unwrap(), legacy.to_string());
    assert!(text.contains(
        "rollout_backfill_rows_total{job=\"school\",outcome=\"would_create\",plan=\"STI\"}"
    ));
    assert!(text
        .contains("rollout_backfill_rows_total{job=\"school\",outcome=\"error\",plan=\"STI\"} 2"));
    assert!(
        text.contains("rollout_backfill_job_state{job=\"school\",plan=\"STI\",state=\"done\"} 1")
    );
    assert!(
        text.contains("rollout_backfill_chunk_duration_seconds_bucket{job=\"school\",plan=\"STI\"")
    );
    crate::common::prometheus::promtool_accepts(&text);
    drop(target_db);
    app.stop().await;
}

/// One unfinished run per job and mode; a run another process drives is not
/// taken over; no undo while a run is unfinished; a rolled-back plan's jobs
/// no longer run, but can still be undone once the paused run is cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_guarded() {
    let plan = job_with("chunk = 100\nfixed_chunk = true\nmax_rows_per_sec = 2000");
    let s = on_sqlite_console(Backend::Sqlite, 12_000, &plan).await;
    let start = |resume: Option<(runs::Run, bool)>| {
        s.try_start(Start {
            resume,
            owner: "owner-a".into(),
            ..s.start(Mode::Run)
        })
    };
    let mut first = start(None).await.unwrap();
    let control = first.control.clone();
    let task = tokio::spawn(async move {
        let o = first.run(|_| {}).await.unwrap();
        (o, first.run)
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let err = start(None)
        .await
        .err()
        .expect("a second run is refused")
        .to_string();
    assert!(err.contains("already has an unfinished run"), "{err}");
    let open = runs::open_run(&s.store, &s.plan_id, "school", Mode::Run)
        .await
        .unwrap()
        .unwrap();
    let err = start(Some((open, false)))
        .await
        .err()
        .expect("no takeover")
        .to_string();
    assert!(err.contains("is being driven by owner-a"), "{err}");
    let err = server::backfill::undo::sources(&s.store, &s.plan_id, "school", ("t", "dev"))
        .await
        .expect_err("no undo while running")
        .to_string();
    assert!(err.contains("before undoing"), "{err}");

    control.pause();
    let (outcome, run) = task.await.unwrap();
    assert!(matches!(outcome, Outcome::Paused(_)), "{outcome:?}");
    assert!(run.created > 0);
    sqlx::query("UPDATE plans SET status = 'rolled_back' WHERE id = $1")
        .bind(&s.plan_id)
        .execute(s.store.pool())
        .await
        .unwrap();
    let err = start(Some((run.clone(), false)))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("no longer run"), "{err}");
    // Fail closed: a run started without its plan's admission is refused
    // before anything is recorded (the engine cannot judge plans itself).
    let err = s
        .try_start(Start::new(&s.plan_id, Mode::Run, Actor::System, "test"))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("needs its plan's admission"), "{err}");

    // Cancel the paused run, then undo what it created.
    let events = server::events::PlanEvents::default();
    let metrics =
        server::backfill::metrics::BackfillMetrics::register(&prometheus::Registry::new()).unwrap();
    let manager =
        server::jobs::manager::JobManager::new(s.store.clone(), s.targets.clone(), events, metrics);
    manager
        .cancel(&Actor::System, &Default::default(), &run.id)
        .await
        .unwrap();
    let source = server::backfill::undo::sources(&s.store, &s.plan_id, "school", ("t", "dev"))
        .await
        .unwrap();
    assert_eq!(source[0].id, run.id);
    let mut undo = s.runner(Mode::Undo, None).await;
    assert_eq!(undo.undo(&source, |_| {}).await.unwrap(), Outcome::Done);
    assert_eq!(undo.run.created, run.created);
    assert_eq!(s.count(NEW).await, 0);
}

/// A retune over REST is audited with who asked from where (the event used
/// to carry an empty address and user agent); so is a pause, under whoever
/// asked for it (the run's own pause event names who started the run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retune_and_a_pause_are_audited_with_who_asked_from_where() {
    let (target_db, _, app) = app_on_a_sqlite_target(false).await;
    let t = target::connect(app.state.jobs.targets(), "t")
        .await
        .unwrap();
    demo::seed(&t.pool, t.backend(), 3_000).await.unwrap();
    let olga = app.signed_in("olga", &[app::access::Role::Operator]).await;
    // Slow enough to be still running when the retune arrives.
    let slow = PLAN.replace(
        "chunk = 100",
        "chunk = 10\nfixed_chunk = true\nmax_rows_per_sec = 40",
    );
    let plan_id = common::PlanApi::import(&app, &olga, &slow).await.id;
    let res = olga
        .post(app.url(&format!("/api/v1/plans/{plan_id}/jobs/school/runs")))
        .json(&serde_json::json!({ "mode": "run" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let run_id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = olga
        .post(app.url(&format!("/api/v1/runs/{run_id}/tune")))
        .header("User-Agent", "retune-test/1")
        .json(&serde_json::json!({ "chunk": 20 }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let (addr, agent): (String, String) = sqlx::query_as(
        "SELECT client_addr, user_agent FROM audit_events WHERE action = 'backfill.tune'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(
        (addr.as_str(), agent.as_str()),
        ("127.0.0.1", "retune-test/1")
    );
    // Another operator pauses it: the trail names her, not the run's starter.
    let pia = app.signed_in("pia", &[app::access::Role::Operator]).await;
    let res = pia
        .post(app.url(&format!("/api/v1/runs/{run_id}/pause")))
        .header("User-Agent", "pause-test/1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let (who, agent): (String, String) = sqlx::query_as(
        "SELECT actor_name, user_agent FROM audit_events WHERE action = 'backfill.pause_request'",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!((who.as_str(), agent.as_str()), ("pia", "pause-test/1"));
    let res = olga
        .post(app.url(&format!("/api/v1/runs/{run_id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    t.close().await;
    drop(target_db);
    app.stop().await;
}

/// A job that declares `metric` has its live runs counted under that name,
/// from the store: a run this test drives (as a command line would) counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_metric_counts_every_live_run_in_the_store() {
    let plan = job_with("chunk = 100\nmetric = \"sti_backfill_processed_total\"\nmetric_labels = { project_type = \"school\" }");
    let s = on_sqlite_console(Backend::Sqlite, 12_000, &plan).await;
    let mut runner = s.runner(Mode::Run, None).await;
    runner.run(|_| {}).await.unwrap();
    let (created, errors) = (runner.run.created, runner.run.errors);
    assert!(created > 1_000 && errors > 0, "{created} {errors}");
    let registry = prometheus::Registry::new();
    let mut metrics = server::jobs::job_metrics::JobMetrics::new(s.store.clone(), registry.clone());
    metrics.refresh().await.unwrap();
    metrics.refresh().await.unwrap();
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    for (status, n) in [("created", created), ("error", errors)] {
        let line = format!(
            "sti_backfill_processed_total{{project_type=\"school\",status=\"{status}\"}} {n}"
        );
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
}

/// A console on SQLite whose target `t` is a new SQLite database (its URL
/// returned too); `allow_superuser` as the target's setting says.
async fn app_on_a_sqlite_target(allow_superuser: bool) -> (TestDb, String, common::TestApp) {
    let target_db = TestDb::new(Backend::Sqlite).await;
    let url = target_db.database_url();
    let app = common::TestApp::spawn_with(Backend::Sqlite, |c| {
        let target = crate::common::targets::config(&url, None, allow_superuser);
        c.targets.insert("t".into(), target);
    })
    .await;
    (target_db, url, app)
}
