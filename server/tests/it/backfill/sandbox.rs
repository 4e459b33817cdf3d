//! Plan SQL stays in its box on SQLite and PostgreSQL targets, and targets
//! that reach too far (the console's own store, another database) are refused.
use super::*;

on_both_targets!(500, plan_sql_stays_in_its_box_on_a_sqlite_target => Sqlite, plan_sql_stays_in_its_box_on_a_postgres_target => Postgres => plan_sql_stays_in_its_box);

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
        let targets = crate::common::targets::one("self", &console.database_url(), None, true);
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
    let mut targets = crate::common::targets::one("app", &app_db.database_url(), None, false);
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
