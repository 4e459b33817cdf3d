//! A job's life on real targets: dry-run, run (broken rows in the error
//! list), verify, undo; killed target sessions retried to exact parity; the
//! rollback error policy.
use super::*;

on_both_targets!(12_000, sqlite_target => Sqlite, postgres_target => Postgres => dry_run_run_verify_undo);

async fn dry_run_run_verify_undo(s: Setup) {
    let legacy = s.count(LEGACY).await;
    let broken = s.count(BROKEN).await;
    assert_eq!(broken, 3, "the demo breaks ids 20, 5020 and 10020");
    // One row exists before the run: the run must not claim it, undo must not remove it.
    let t = target::connect(&s.targets, "t").await.unwrap();
    sqlx::query("INSERT INTO projects_schoolproject VALUES (1, 'kept', 'K1', 'someone')")
        .execute(&t.pool)
        .await
        .unwrap();

    // Dry-run: reports what it would create, changes nothing.
    let mut dry = s.runner(Mode::DryRun, None).await;
    assert_eq!(dry.run(|_| {}).await.unwrap(), Outcome::Done);
    assert_eq!(dry.run.created, legacy - broken - 1);
    assert_eq!(dry.run.errors, broken);
    assert_eq!(s.count(NEW).await, 1, "a dry-run changes nothing");

    // The run: every row but the broken ones; those are listed with their keys.
    let mut run = s.runner(Mode::Run, None).await;
    let mut chunks = 0;
    assert_eq!(run.run(|_| chunks += 1).await.unwrap(), Outcome::Done);
    assert!(chunks >= 3, "{chunks} chunks (adaptive, from 100 keys)");
    assert_eq!(run.run.created, legacy - broken - 1);
    assert_eq!(s.count(NEW).await, legacy - broken);
    let errors = runs::errors(&s.store, &run.run.id, 10).await.unwrap();
    let keys: Vec<i64> = errors.iter().map(|e| e.0).collect();
    assert_eq!(keys, vec![20, 5020, 10020]);
    assert!(errors[0].1.to_lowercase().contains("null"), "{errors:?}");
    // Running again creates nothing more (idempotent apply).
    let mut again = s.runner(Mode::Run, None).await;
    again.run(|_| {}).await.unwrap();
    assert_eq!(again.run.created, 0);
    assert_eq!(s.count(NEW).await, legacy - broken);

    // Verify: delta and coverage.
    let mut verify = s.runner(Mode::Verify, None).await;
    let r = verify.verify().await.unwrap();
    assert_eq!(r["delta"], broken);
    assert_eq!(r["passed"], false);
    assert!(r["coverage_pct"].as_f64().unwrap() < 100.0);

    // Undo removes exactly what the first run created.
    let mut undo = s.runner(Mode::Undo, None).await;
    assert_eq!(
        undo.undo(std::slice::from_ref(&run.run), |_| {})
            .await
            .unwrap(),
        Outcome::Done
    );
    assert_eq!(undo.run.created, legacy - broken - 1);
    assert_eq!(s.count(NEW).await, 1, "the row that existed before stays");

    // Resume from a key: only keys after it.
    let mut from = s.runner(Mode::Run, Some(6_000)).await;
    from.run(|_| {}).await.unwrap();
    let after: i64 = s
        .count("SELECT COUNT(*) FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE AND id > 6000 AND course_code IS NOT NULL")
        .await;
    assert_eq!(from.run.created, after);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM projects_schoolproject WHERE project_id <= 6000")
            .await,
        1
    );

    // Every step is in the audit trail.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE action LIKE 'backfill.%' ORDER BY seq",
    )
    .fetch_all(s.store.pool())
    .await
    .unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "backfill.start").count(), 6);
    assert_eq!(
        actions.iter().filter(|a| *a == "backfill.finish").count(),
        6
    );

    // An undo of the job removes what every run of it created and still
    // holds (here: the resumed run's rows), never the row that was there.
    let sources = server::backfill::undo::sources(&s.store, &s.plan_id, "school", ("t", "dev"))
        .await
        .unwrap();
    assert_eq!(sources.len(), 3, "run, again, from");
    // Another environment's undo on this target never takes dev's keys.
    let err = server::backfill::undo::sources(&s.store, &s.plan_id, "school", ("t", "production"))
        .await
        .expect_err("no production run")
        .to_string();
    assert!(
        err.contains("no live run on target \"t\" for production"),
        "{err}"
    );
    let mut undo_all = s.runner(Mode::Undo, None).await;
    assert_eq!(
        undo_all.undo(&sources, |_| {}).await.unwrap(),
        Outcome::Done
    );
    assert_eq!(undo_all.run.created, from.run.created);
    assert_eq!(s.count(NEW).await, 1);
}

/// The target's sessions are terminated again and again mid-run (as when
/// PostgreSQL restarts or an operator kills backends): the job retries,
/// continues, and ends with exact parity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_target_sessions_are_retried_to_exact_parity() {
    let plan = job_with("chunk = 200\nfixed_chunk = true\nmax_rows_per_sec = 8000");
    let s = on_sqlite_console(Backend::Postgres, 30_000, &plan).await;
    let mut runner = s.runner(Mode::Run, None).await;
    let task = tokio::spawn(async move {
        let outcome = runner.run(|_| {}).await.unwrap();
        (outcome, runner.run)
    });
    let killer = target::connect(&s.targets, "t").await.unwrap();
    let mut killed = 0i64;
    for _ in 0..8 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()) k",
        )
        .fetch_one(&killer.pool)
        .await
        .unwrap();
        killed += n;
    }
    let (outcome, run) = task.await.unwrap();
    assert_eq!(outcome, Outcome::Done, "{:?}", run.result);
    assert!(killed >= 3, "sessions were terminated mid-run ({killed})");
    let legacy = s.count(LEGACY).await;
    let broken = s.count(BROKEN).await;
    assert_eq!(s.count(NEW).await, legacy - broken);
    let diff = s
        .count(
            "SELECT COUNT(*) FROM projects_project p WHERE project_type = 'school' AND is_draft = FALSE \
             AND course_code IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM projects_schoolproject s WHERE s.project_id = p.id AND s.course_code = p.course_code)",
        )
        .await;
    assert_eq!(diff, 0);
    let errors = runs::errors(&s.store, &run.id, 100).await.unwrap();
    assert_eq!(errors.len() as i64, broken);
}

/// `error_policy = "rollback"`: the first failing row stops the run and what
/// it created is undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_policy_undoes_the_run() {
    let plan = PLAN.replace("error_policy = \"skip\"", "error_policy = \"rollback\"");
    let s = on_sqlite_console(Backend::Sqlite, 12_000, &plan).await;
    let mut runner = s.runner(Mode::Run, Some(4_000)).await;
    let outcome = runner.run(|_| {}).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Failed(ref r) if r.contains("failed") && r.contains("undone")),
        "{outcome:?}"
    );
    assert!(runner.run.created > 0, "it created rows before failing");
    assert_eq!(s.count(NEW).await, 0, "and they were undone");
    let undo: String = sqlx::query_scalar("SELECT status FROM backfill_runs WHERE mode = 'undo'")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_eq!(undo, "done");
}
