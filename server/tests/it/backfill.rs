//! The backfill engine against real target databases (a SQLite file, a
//! PostgreSQL database): dry-run changes nothing; a run applies every row but
//! the ones that break a constraint, which end up in the error list with
//! their keys; verify reports delta and coverage; undo removes exactly what
//! the run created; resume-from starts after a key; a job whose target
//! sessions are killed mid-run retries and ends with exact parity.
use crate::common;

use std::collections::BTreeMap;

use crate::common::{Backend, TestDb};
use server::audit::Actor;
use server::backfill::error::BackfillError;
use server::backfill::job::Job;
use server::backfill::runner::{Outcome, Runner};
use server::backfill::runs::{self, Mode};
use server::backfill::start::Start;
use server::backfill::target_read::Cell;
use server::backfill::{demo, target};
use server::config::TargetConfig;
use server::db::Store;
use server::events::PlanEvents;
use server::flags::cache::FlagCache;
use server::plans::acting::Acting;
use server::plans::admission::PlanAdmission;
use server::plans::PlanService;

const PLAN: &str = common::SCHOOL_PLAN;

struct Setup {
    store: Store,
    targets: BTreeMap<String, TargetConfig>,
    plan_id: String,
    /// The plan file the setup imported.
    plan: String,
    _console: TestDb,
    _target: TestDb,
}

async fn setup(console: TestDb, target_backend: Backend, rows: i64, plan_text: &str) -> Setup {
    let store = console.store().await;
    let target_db = TestDb::new(target_backend).await;
    let targets = BTreeMap::from([(
        "t".to_string(),
        TargetConfig {
            url: Some(target_db.database_url()),
            url_env: None,
            allow_superuser: true,
            environment: None,
        },
    )]);
    let t = target::connect(&targets, "t").await.unwrap();
    demo::seed(&t.pool, t.backend(), rows).await.unwrap();
    let service = PlanService::new(store.clone(), PlanEvents::default(), FlagCache::default());
    let plan = service
        .import_as(&Acting::cli(), plan_text, None)
        .await
        .unwrap();
    Setup {
        store,
        targets,
        plan_id: plan.id,
        plan: plan_text.to_string(),
        _console: console,
        _target: target_db,
    }
}

impl Setup {
    /// Starts the plan's school job as `start` says.
    async fn try_start(&self, start: Start) -> Result<Runner, BackfillError> {
        let job = Job::find(&self.plan, "school").unwrap();
        let t = target::connect(&self.targets, "t").await.unwrap();
        Runner::start(self.store.clone(), t, job, start).await
    }

    fn start(&self, mode: Mode) -> Start {
        Start {
            admission: Some(std::sync::Arc::new(PlanAdmission)),
            environment: "dev".into(),
            ..Start::new(&self.plan_id, mode, Actor::System, "test")
        }
    }

    async fn runner(&self, mode: Mode, resume_from: Option<i64>) -> Runner {
        self.try_start(Start {
            resume_from,
            ..self.start(mode)
        })
        .await
        .unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        let t = target::connect(&self.targets, "t").await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&t.pool).await.unwrap()
    }
}

on_both_backends! {
    plan_sql_stays_in_its_box_on_a_sqlite_target => sandbox_on_sqlite_target;
    plan_sql_stays_in_its_box_on_a_postgres_target => sandbox_on_postgres_target;
}

async fn sandbox_on_sqlite_target(console: TestDb) {
    plan_sql_stays_in_its_box(setup(console, Backend::Sqlite, 500, PLAN).await).await
}

async fn sandbox_on_postgres_target(console: TestDb) {
    plan_sql_stays_in_its_box(setup(console, Backend::Postgres, 500, PLAN).await).await
}

/// What an attacker holding `plans:write` tried: a plan whose SQL leaves its
/// chunk's transaction, opens other databases, changes pragmas or loads code.
async fn plan_sql_stays_in_its_box(s: Setup) {
    let service = PlanService::new(s.store.clone(), PlanEvents::default(), FlagCache::default());
    let apply_line = PLAN
        .lines()
        .position(|l| l.starts_with("apply = "))
        .unwrap()
        + 1;
    for (plan, expect) in [
        (
            PLAN.replace("apply = \"\"\"\n", "apply = \"\"\"\nCOMMIT;\n"),
            "holds 2 statements",
        ),
        (
            PLAN.replace(
                "apply = \"\"\"\n",
                "apply = \"\"\"\nATTACH DATABASE 'x.db' AS x;\n",
            ),
            "holds 2 statements",
        ),
        (
            replace_apply("ATTACH DATABASE '/tmp/console.db' AS console"),
            "ATTACH",
        ),
        (replace_apply("PRAGMA writable_schema = 1"), "PRAGMA"),
        (replace_apply("COMMIT"), "transaction control"),
        (
            PLAN.replace(
                "SELECT id, course_name",
                "SELECT id, load_extension('/tmp/evil.so'), course_name",
            ),
            "load_extension()",
        ),
    ] {
        let err = service
            .import_as(&Acting::cli(), &plan, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(
            err.contains(&format!("{apply_line}:")) && err.contains("jobs[0].apply"),
            "with its location: {err}"
        );
    }
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM plans")
            .fetch_one(s.store.pool())
            .await
            .unwrap(),
        1,
        "nothing refused was stored"
    );

    // A job whose SQL got past validation (an older console, a hand-edited
    // store) is checked again before it runs: a dry-run that tries to commit
    // changes nothing, and neither does its run.
    for mode in [Mode::DryRun, Mode::Run] {
        let mut job = Job::find(&s.plan, "school").unwrap();
        job.apply = format!("COMMIT; {}", job.apply);
        let t = target::connect(&s.targets, "t").await.unwrap();
        let err = Runner::start(s.store.clone(), t, job, s.start(mode))
            .await
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("apply") && err.to_string().contains("nothing was run"),
            "{err}"
        );
    }
    assert_eq!(s.count(NEW).await, 0, "the target is unchanged");
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM backfill_runs")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_eq!(runs, 0, "a refused run is not even recorded");

    // A verify query that writes is refused: by the check, and by the target
    // itself when it gets there (PostgreSQL: a read-only session).
    let mut job = Job::find(&s.plan, "school").unwrap();
    job.verify = Some((
        "DELETE FROM projects_project RETURNING 1".into(),
        NEW.into(),
    ));
    let t = target::connect(&s.targets, "t").await.unwrap();
    let err = Runner::start(s.store.clone(), t.clone(), job, s.start(Mode::Verify))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("verify_legacy"), "{err}");
    if t.backend() == app::dto::StoreBackend::Postgres {
        let err = sqlx::query("DELETE FROM projects_project")
            .execute(&t.read_pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("read-only transaction"), "{err}");
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM projects_project").await, 500);

    // Functions off the list, however they are called: refused at validate
    // (with the field's location) and again before a run on this target.
    let pg_calls = [
        "pg_sleep(1)",
        "set_config('default_transaction_read_only', 'off', false)",
        "pg_read_file('/etc/passwd')",
        "lo_import('/etc/passwd')",
        "lo_export(1, '/tmp/x')",
        "lo_from_bytea(0, 'x')",
        "dblink('host=x', 'select 1')",
        "pg_terminate_backend(1)",
        "nextval('s')",
        "setval('s', 1)",
        "pg_advisory_lock(1)",
        "current_setting('data_directory')",
    ];
    let lite_calls = [
        "readfile('/etc/passwd')",
        "load_extension('/tmp/evil.so')",
        "fts3_tokenizer('simple')",
        "zeroblob(1000000000)",
    ];
    for call in pg_calls.iter().chain(&lite_calls) {
        let name = call.split('(').next().unwrap();
        for read in [
            format!("SELECT COUNT(*) FROM {call}"),
            format!("SELECT COUNT(*) FROM projects_project, LATERAL {call} AS f"),
            format!("WITH c AS (SELECT {call} AS x) SELECT COUNT(*) FROM c"),
            format!("SELECT COUNT(*) FROM projects_project WHERE id IN (SELECT {call})"),
        ] {
            let plan = PLAN.replace(
                "verify_new = \"SELECT COUNT(*) FROM projects_schoolproject\"",
                &format!("verify_new = \"{}\"", read.replace('"', "\\\"")),
            );
            let err = service
                .import_as(&Acting::cli(), &plan, None)
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(name) && err.contains("jobs[0].verify_new"),
                "{read}: {err}"
            );
        }
        let mut job = Job::find(&s.plan, "school").unwrap();
        job.verify = Some((format!("SELECT COUNT(*) FROM {call}"), NEW.into()));
        let t = target::connect(&s.targets, "t").await.unwrap();
        let err = Runner::start(s.store.clone(), t, job, s.start(Mode::Verify))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(name) && err.contains("nothing was run"),
            "{call}: {err}"
        );
    }

    // Below the checks: a read runs in a transaction that is read-only (on
    // PostgreSQL) and rolled back, so even a statement that slipped past
    // them could change no setting and no sequence.
    let t = target::connect(&s.targets, "t").await.unwrap();
    let limit = std::time::Duration::from_secs(5);
    if t.backend() == app::dto::StoreBackend::Postgres {
        assert!(
            t.superuser,
            "the strongest case: a superuser target (allow_superuser)"
        );
        sqlx::query("CREATE SEQUENCE IF NOT EXISTS box_seq")
            .execute(&t.pool)
            .await
            .unwrap();
        let changed = t
            .read_column(
                "SELECT set_config('default_transaction_read_only', 'off', false)",
                &[],
                limit,
            )
            .await;
        assert!(
            changed.is_ok(),
            "set_config itself runs in a read-only transaction: {changed:?}"
        );
        let now = t
            .read_column(
                "SELECT current_setting('default_transaction_read_only')",
                &[],
                limit,
            )
            .await
            .unwrap();
        assert_eq!(
            now,
            vec![Cell::Text("on".into())],
            "rolled back with its transaction"
        );
        for seq in ["SELECT nextval('box_seq')", "SELECT setval('box_seq', 42)"] {
            let err = t.read_column(seq, &[], limit).await.unwrap_err();
            assert!(
                err.to_string().contains("read-only transaction"),
                "{seq}: {err}"
            );
        }
        let value: i64 = sqlx::query_scalar("SELECT last_value FROM box_seq")
            .fetch_one(&t.pool)
            .await
            .unwrap();
        assert_eq!(value, 1, "the sequence never moved");
    } else {
        let err = t
            .read_column("DELETE FROM projects_project RETURNING 1", &[], limit)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM projects_project").await, 500);
}

fn replace_apply(sql: &str) -> String {
    let start = PLAN.find("apply = ").unwrap();
    let end = PLAN[start..].find("RETURNING project_id\"\"\"").unwrap()
        + start
        + "RETURNING project_id\"\"\"".len();
    format!("{}apply = \"{sql}\"{}", &PLAN[..start], &PLAN[end..])
}

/// A target that is the console's own store is refused, and so is a
/// PostgreSQL superuser unless the configuration allows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_that_reach_too_far_are_refused() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let console = TestDb::new(backend).await;
        let _store = console.store().await;
        let targets = BTreeMap::from([(
            "self".to_string(),
            TargetConfig {
                url: Some(console.database_url()),
                url_env: None,
                allow_superuser: true,
                environment: None,
            },
        )]);
        let err = target::connect(&targets, "self")
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("holds a Rollout Console store"), "{err}");
        let err = target::test(&targets, "self")
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("holds a Rollout Console store"), "{err}");
    }
    let app_db = TestDb::new(Backend::Postgres).await;
    let mut targets = BTreeMap::from([(
        "app".to_string(),
        TargetConfig {
            url: Some(app_db.database_url()),
            url_env: None,
            allow_superuser: false,
            environment: None,
        },
    )]);
    let err = target::connect(&targets, "app")
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("superuser") && err.contains("allow_superuser"),
        "{err}"
    );
    targets.get_mut("app").unwrap().allow_superuser = true;
    let shown = target::test(&targets, "app").await.unwrap();
    assert!(
        shown.contains("warning: connects as a superuser"),
        "{shown}"
    );
}

const LEGACY: &str =
    "SELECT COUNT(*) FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE";
const BROKEN: &str = "SELECT COUNT(*) FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE AND course_code IS NULL";
const NEW: &str = "SELECT COUNT(*) FROM projects_schoolproject";

on_both_backends! {
    sqlite_target => on_sqlite_target;
    postgres_target => on_postgres_target;
}

async fn on_sqlite_target(console: TestDb) {
    dry_run_run_verify_undo(setup(console, Backend::Sqlite, 12_000, PLAN).await).await
}

async fn on_postgres_target(console: TestDb) {
    dry_run_run_verify_undo(setup(console, Backend::Postgres, 12_000, PLAN).await).await
}

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
    let plan = PLAN.replace(
        "chunk = 100",
        "chunk = 200\nfixed_chunk = true\nmax_rows_per_sec = 8000",
    );
    let s = setup(
        TestDb::new(Backend::Sqlite).await,
        Backend::Postgres,
        30_000,
        &plan,
    )
    .await;
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

/// Chunk size and rate change while the job runs, from its next chunk on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_size_and_rate_are_retuned_live() {
    let plan = PLAN.replace(
        "chunk = 100",
        "chunk = 50\nfixed_chunk = true\nmax_rows_per_sec = 2000",
    );
    let s = setup(
        TestDb::new(Backend::Sqlite).await,
        Backend::Sqlite,
        20_000,
        &plan,
    )
    .await;
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
    let target_db = TestDb::new(Backend::Sqlite).await;
    let target_url = target_db.database_url();
    let app = common::TestApp::spawn_with(Backend::Sqlite, |c| {
        c.targets.insert(
            "t".into(),
            TargetConfig {
                url: Some(target_url.clone()),
                url_env: None,
                allow_superuser: true,
                environment: None,
            },
        );
    })
    .await;
    let targets = BTreeMap::from([(
        "t".to_string(),
        TargetConfig {
            url: Some(target_url.clone()),
            url_env: None,
            allow_superuser: true,
            environment: None,
        },
    )]);
    let t = target::connect(&targets, "t").await.unwrap();
    demo::seed(&t.pool, t.backend(), 5_000).await.unwrap();
    let olga = app.signed_in("olga", &[app::access::Role::Operator]).await;
    let vic = app.signed_in("vic", &[app::access::Role::Viewer]).await;
    let res = olga
        .post(app.url("/api/v1/plans"))
        .body(PLAN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plan_id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
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
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
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
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (scripts/setup installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(target_db);
    app.stop().await;
}

/// `error_policy = "rollback"`: the first failing row stops the run and what
/// it created is undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_policy_undoes_the_run() {
    let plan = PLAN.replace("error_policy = \"skip\"", "error_policy = \"rollback\"");
    let s = setup(
        TestDb::new(Backend::Sqlite).await,
        Backend::Sqlite,
        12_000,
        &plan,
    )
    .await;
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

/// One unfinished run per job and mode; a run another process drives is not
/// taken over; no undo while a run is unfinished; a rolled-back plan's jobs
/// no longer run, but can still be undone once the paused run is cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_guarded() {
    let plan = PLAN.replace(
        "chunk = 100",
        "chunk = 100\nfixed_chunk = true\nmax_rows_per_sec = 2000",
    );
    let s = setup(
        TestDb::new(Backend::Sqlite).await,
        Backend::Sqlite,
        12_000,
        &plan,
    )
    .await;
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
    let manager = server::backfill::manager::JobManager::new(
        s.store.clone(),
        s.targets.clone(),
        events,
        metrics,
    );
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
    let target_db = TestDb::new(Backend::Sqlite).await;
    let target_url = target_db.database_url();
    let app = common::TestApp::spawn_with(Backend::Sqlite, |c| {
        c.targets.insert(
            "t".into(),
            TargetConfig {
                url: Some(target_url.clone()),
                url_env: None,
                allow_superuser: false,
                environment: None,
            },
        );
    })
    .await;
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
    let res = olga
        .post(app.url("/api/v1/plans"))
        .body(slow)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let plan_id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
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
    let plan = PLAN.replace(
        "chunk = 100",
        "chunk = 100\nmetric = \"sti_backfill_processed_total\"\nmetric_labels = { project_type = \"school\" }",
    );
    let s = setup(
        TestDb::new(Backend::Sqlite).await,
        Backend::Sqlite,
        12_000,
        &plan,
    )
    .await;
    let mut runner = s.runner(Mode::Run, None).await;
    runner.run(|_| {}).await.unwrap();
    let (created, errors) = (runner.run.created, runner.run.errors);
    assert!(created > 1_000 && errors > 0, "{created} {errors}");
    let registry = prometheus::Registry::new();
    let mut metrics =
        server::backfill::job_metrics::JobMetrics::new(s.store.clone(), registry.clone());
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
