//! Crash safety of server-run backfills, PostgreSQL console and target, 200k
//! legacy rows: the server is SIGKILLed at random moments five times and
//! restarted; it resumes the run by itself; the checkpoint is never ahead of
//! the data committed on the target; the end state equals one
//! `INSERT … SELECT` of the valid rows exactly, and the rows that break a
//! constraint are in the error list.
use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, TestDb};
use app::access::Scope;
use server::audit::{Actor, ClientInfo};
use server::auth::tokens;
use server::backfill::demo;
use server::events::PlanEvents;
use server::flags::cache::FlagCache;
use server::plans::acting::Acting;
use server::plans::PlanService;
use sqlx::any::AnyPoolOptions;

const BIN: &str = env!("CARGO_BIN_EXE_rollout-console");
const ROWS: i64 = 200_000;

/// The school job, throttled so the kills land mid-run.
fn crash_plan() -> String {
    common::SCHOOL_PLAN.replace("chunk = 100", "chunk = 500\nmax_rows_per_sec = 12000")
}

/// Starts `serve` and returns it with its base URL.
fn start_server(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env("CONSOLE_CONFIG", dir.join("console.toml"))
        .env("CONSOLE_LOG_LEVEL", "info")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the console");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                let url = line[i + "listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the console starts");
    (child, url)
}

/// A pseudo-random delay in 150..900 ms (no RNG crate needed for this).
fn random_delay(seed: &mut u64) -> Duration {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Duration::from_millis(150 + (*seed >> 33) % 750)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_server_resumes_with_exact_parity() {
    let console = TestDb::new(Backend::Postgres).await;
    let store = console.store().await;
    let target = TestDb::new(Backend::Postgres).await;
    let target_pool = AnyPoolOptions::new()
        .max_connections(2)
        .connect(&target.database_url())
        .await
        .unwrap();
    demo::seed(&target_pool, app::dto::StoreBackend::Postgres, ROWS)
        .await
        .unwrap();
    let plan = PlanService::new(store.clone(), PlanEvents::default(), FlagCache::default())
        .import_as(&Acting::cli(), &crash_plan(), None)
        .await
        .unwrap();
    let token = tokens::create(
        &store,
        &Actor::System,
        &ClientInfo::default(),
        "crash test",
        &[Scope::PlansWrite],
        None,
        &crate::common::environments(),
    )
    .await
    .unwrap()
    .secret;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("console.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\n[targets.t]\nurl = \"{}\"\nallow_superuser = true\n",
            console.database_url(),
            target.database_url()
        ),
    )
    .unwrap();

    let http = reqwest::Client::new();
    let (mut server, url) = start_server(dir.path());
    let res = http
        .post(format!("{url}/api/v1/plans/{}/jobs/school/runs", plan.id))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let run: serde_json::Value = res.json().await.unwrap();
    let run_id = run["id"].as_str().unwrap().to_string();

    // Valid keys at or below the checkpoint that are missing on the target:
    // must always be none.
    let behind = |last: i64| {
        let pool = target_pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM projects_project p WHERE p.id <= $1 AND project_type = 'school' \
                 AND is_draft = FALSE AND course_code IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM projects_schoolproject s WHERE s.project_id = p.id)",
            )
            .bind(last)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let checkpoint = || {
        let pool = store.pool().clone();
        let id = run_id.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>("SELECT last_key FROM backfill_runs WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
                .unwrap_or(0)
        }
    };

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut kills = 0;
    let mut checkpoints = Vec::new();
    while kills < 5 {
        tokio::time::sleep(random_delay(&mut seed)).await;
        server.kill().expect("SIGKILL");
        server.wait().unwrap();
        kills += 1;
        let last = checkpoint().await;
        checkpoints.push(last);
        assert_eq!(
            behind(last).await,
            0,
            "checkpoint {last} is ahead of committed data"
        );
        let (s, _) = start_server(dir.path());
        server = s;
    }
    assert!(
        checkpoints.iter().any(|&k| k > 0 && k < ROWS),
        "the kills landed mid-run: {checkpoints:?}"
    );

    // The restarted server finishes the run by itself.
    let started = Instant::now();
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM backfill_runs WHERE id = $1")
            .bind(&run_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
        if status == "done" {
            break;
        }
        assert!(status == "running", "run ended {status}");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    // Exactly one INSERT … SELECT of the valid rows: no gap, no duplicate.
    sqlx::query(
        "CREATE TABLE expected AS SELECT id AS project_id, course_name, course_code, teacher_name \
         FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE AND course_code IS NOT NULL",
    )
    .execute(&target_pool)
    .await
    .unwrap();
    let diff: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM projects_schoolproject) a) \
         + (SELECT COUNT(*) FROM (SELECT * FROM projects_schoolproject EXCEPT ALL SELECT * FROM expected) b)",
    )
    .fetch_one(&target_pool)
    .await
    .unwrap();
    assert_eq!(diff, 0, "the target differs from one INSERT … SELECT");
    let errors: Vec<i64> =
        sqlx::query_scalar("SELECT key FROM backfill_errors WHERE run_id = $1 ORDER BY key")
            .bind(&run_id)
            .fetch_all(store.pool())
            .await
            .unwrap();
    let broken: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE AND course_code IS NULL ORDER BY id",
    )
    .fetch_all(&target_pool)
    .await
    .unwrap();
    assert_eq!(errors, broken);
    let resumes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'backfill.resume'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(
        resumes >= 1,
        "the server resumed the run by itself ({resumes} resumes)"
    );
}
