//! A PostgreSQL target's own health, with no Prometheus: a session holds a
//! lock that blocks the job's table (and an application's write queues
//! behind it); the `lock_waits` guardrail breaches, and the running
//! backfill waits by itself, says why, and goes on when the lock is
//! released — ending with exact counts. Waiting and going on are audited.
use crate::common::refused;
use std::time::Duration;

use serde_json::Value;
use sqlx::Connection;

use crate::common::{self, Backend, Fetch, PlanApi, TestApp, TestDb};
use app::access::Role;
use server::backfill::{demo, target};

fn plan() -> String {
    common::SCHOOL_PLAN
        .replace(
            "chunk = 100",
            "chunk = 100\nfixed_chunk = true\nmax_rows_per_sec = 3000\nthrottle = { lock_waits = 0 }",
        )
        .replace(
            "exposure_bp = 10000\n",
            "exposure_bp = 10000\n\n[[phases.checklist]]\ntext = \"No session waits for a lock\"\nkind = \"auto\"\ncheck = \"guardrail_db_locks\"\n",
        )
        + "\n[[guardrails]]\nname = \"db_locks\"\ntarget = \"t\"\nhealth = \"lock_waits\"\nmax = 0\ninterval = \"1s\"\nconsecutive_error_limit = 0\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_on_the_jobs_table_breaches_the_guardrail_and_holds_the_backfill_until_released() {
    let target_db = TestDb::new(Backend::Postgres).await;
    let targets = common::targets::one("t", &target_db.database_url(), None, true);
    let t = target::connect(&targets, "t").await.unwrap();
    demo::seed(&t.pool, t.backend(), 40_000).await.unwrap();
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets.clone())
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, &plan()).await;
    let phase_id = plan.phase(&olga, 0).await["id"].clone();
    let (status, body) = plan.on_phase(&olga, "start_phase", &phase_id).await;
    assert_eq!(status, 200, "{body}");
    plan.item_until(&olga, "guardrail_db_locks", true, "within")
        .await;

    let id = plan.started_in_dev(&olga, "school").await;
    plan.run_until(&olga, &id, 30, |run| run["processed"].as_i64() != Some(0))
        .await;

    // A migration's lock on the job's table, and an application write
    // queued behind it.
    let url = target_db.database_url();
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE projects_schoolproject IN SHARE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let queued = tokio::spawn(async move {
        let mut app_session = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = app_session.begin().await.unwrap();
        sqlx::query("LOCK TABLE projects_schoolproject IN ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    });

    plan.item_until(&olga, "guardrail_db_locks", false, "is outside value ≤ 0")
        .await;
    // The run waits by itself and says why.
    let mut waiting = Value::Null;
    for _ in 0..300 {
        waiting = plan.run(&olga, &id).await;
        if waiting["result"]["waiting"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let why = waiting["result"]["waiting"]
        .as_str()
        .unwrap_or_else(|| panic!("{waiting}"));
    assert!(
        why.contains("lock_waits on target \"t\" is") || why.contains("waited too long for a lock"),
        "{why}"
    );
    assert_eq!(waiting["status"], "running");
    let held_at = waiting["processed"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = plan.run(&olga, &id).await;
    assert_eq!(still["processed"].as_i64().unwrap(), held_at, "{still}");
    assert_eq!(
        still["status"], "running",
        "waiting is not a pause: {still}"
    );

    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    queued.await.unwrap();
    let done = plan.settled(&olga, &id, 60).await;
    assert_eq!(done["status"], "done", "{done}");
    let created = done["created"].as_i64().unwrap();
    let new: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects_schoolproject")
        .fetch_one(&t.pool)
        .await
        .unwrap();
    assert_eq!(created, new, "exact counters through the wait: {done}");
    assert_eq!(
        done["processed"].as_i64().unwrap(),
        created + done["skipped"].as_i64().unwrap() + done["errors"].as_i64().unwrap()
    );
    plan.item_until(&olga, "guardrail_db_locks", true, "within")
        .await;

    let events: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT action, actor_kind, details FROM audit_events WHERE action IN ('backfill.wait', 'backfill.proceed') ORDER BY seq",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    assert!(events.len() >= 2, "{events:?}");
    assert_eq!(events[0].0, "backfill.wait");
    assert_eq!(events[0].1, "system", "the console decided: {events:?}");
    assert!(
        events.iter().any(|e| e.0 == "backfill.proceed"),
        "{events:?}"
    );
    assert!(
        events.len() <= 6,
        "audited once per wait, not per look: {events:?}"
    );
    app.stop().await;
}

/// A health signal that cannot be read is never healthy, and says how to
/// fix it: a SQLite target has no statistics views; a guardrail naming an
/// unknown signal or mixing sources is refused at import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_signals_fail_closed_and_bad_ones_are_refused() {
    let target_db = TestDb::new(Backend::Sqlite).await;
    let targets = common::targets::one("t", &target_db.database_url(), None, true);
    let t = target::connect(&targets, "t").await.unwrap();
    let health = server::backfill::health::Health::default();
    let e = health
        .read(
            &t,
            server::backfill::signal::Signal::LockWaits,
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert!(e.contains("reads PostgreSQL's statistics"), "{e}");

    let pg = TestDb::new(Backend::Postgres).await;
    let targets = common::targets::one("pg", &pg.database_url(), None, true);
    let t = target::connect(&targets, "pg").await.unwrap();
    for signal in server::backfill::signal::SIGNALS {
        let read = health.read(&t, signal, Duration::from_secs(5)).await;
        use server::backfill::signal::Signal::*;
        match signal {
            // Server-wide: other tests on this PostgreSQL server may be
            // waiting on a lock right now, so a number, not necessarily 0
            // (the lock test beside this one sees one appear).
            LockWaits | LongestLockWaitS => assert!(
                read.as_ref().is_ok_and(|v| *v >= 0.0),
                "{signal:?}: {read:?}"
            ),
            Connections => assert!(
                read.as_ref().is_ok_and(|v| *v > 0.0 && *v < 1.0),
                "{read:?}"
            ),
            CacheHitRatio => assert!(
                read.as_ref().is_ok_and(|v| (0.0..=1.0).contains(v)),
                "{read:?}"
            ),
            ReplicationLagS => {
                assert!(
                    read.as_ref()
                        .is_err_and(|e| e.contains("no replica reports")),
                    "{read:?}"
                )
            }
            // Present or not on this server: a value, or the way to install it.
            StatementMeanMs => assert!(
                read.as_ref().is_ok_and(|v| *v >= 0.0)
                    || read
                        .as_ref()
                        .is_err_and(|e| e.contains("CREATE EXTENSION pg_stat_statements")),
                "{read:?}"
            ),
        }
    }

    let app = TestApp::spawn(Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    for (guardrail, says) in [
        (
            "target = \"t\"\nhealth = \"vibes\"",
            "guardrails[0].health: \"vibes\" is not a health signal; use one of lock_waits",
        ),
        (
            "target = \"t\"\nhealth = \"lock_waits\"\nsql = \"SELECT 1\"",
            "guardrails[0].query: give a source",
        ),
        (
            "target = \"t\"\nhealth = \"lock_waits\"\nbaseline_window = \"24h\"",
            "guardrails[0].baseline_window: only a PromQL source can look back",
        ),
    ] {
        let text = format!(
            "{}\n[[guardrails]]\nname = \"g\"\n{guardrail}\nmax = 0\n",
            common::SCHOOL_PLAN
        );
        refused(
            olga.post(app.url("/api/v1/plans"))
                .body(text)
                .answer()
                .await,
            400,
            says,
        );
    }
    let text = common::SCHOOL_PLAN.replace(
        "chunk = 100",
        "chunk = 100\nthrottle = { lock_waits = -1, load = 3 }",
    );
    let (status, body) = olga
        .post(app.url("/api/v1/plans"))
        .body(text)
        .answer()
        .await;
    assert_eq!(status, 400, "{body}");
    let error = common::error_of(&body);
    assert!(
        error.contains("jobs[0].throttle.load: \"load\" is not a health signal"),
        "{error}"
    );
    assert!(
        error.contains("jobs[0].throttle.lock_waits: a number, 0 or more"),
        "{error}"
    );
    app.stop().await;
}
