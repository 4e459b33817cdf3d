//! Strict coverage on a PostgreSQL target of 1,000,000 legacy rows: one
//! missing row is not full coverage (no rounding), verify names its key, and
//! an orphan row in the new table does not hide it.
use crate::common::{self, Backend, TestDb};

use server::audit::Actor;
use server::backfill::job::Job;
use server::backfill::runner::Runner;
use server::backfill::runs::Mode;
use server::backfill::start::Start;
use server::backfill::{demo, target};
use server::events::PlanEvents;
use server::flags::cache::FlagCache;
use server::plans::acting::Acting;
use server::plans::admission::PlanAdmission;
use server::plans::PlanService;

const MISSING: &str =
    "verify_missing = \"SELECT p.id FROM projects_project p LEFT JOIN projects_schoolproject s \
    ON s.project_id = p.id WHERE p.project_type = 'school' AND p.is_draft = FALSE \
    AND s.project_id IS NULL ORDER BY p.id\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_missing_row_in_a_million_is_not_full_coverage() {
    let console = TestDb::new(Backend::Sqlite).await;
    let store = console.store().await;
    let target_db = TestDb::new(Backend::Postgres).await;
    let targets = crate::common::targets::one("t", &target_db.database_url(), None, true);
    let t = target::connect(&targets, "t").await.unwrap();
    demo::seed(&t.pool, t.backend(), 1_000_000).await.unwrap();
    // The backfill's result, set-based (the engine's own runs are tested
    // elsewhere): every non-draft school project has its row…
    sqlx::query(
        "INSERT INTO projects_schoolproject SELECT id, course_name, COALESCE(course_code, '-'), teacher_name \
         FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE",
    )
    .execute(&t.pool)
    .await
    .unwrap();
    // …but one.
    let gone: i64 = sqlx::query_scalar(
        "DELETE FROM projects_schoolproject WHERE project_id = (SELECT MAX(project_id) / 2 FROM projects_schoolproject \
         WHERE project_id IN (SELECT id FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE)) \
         RETURNING project_id",
    )
    .fetch_one(&t.pool)
    .await
    .unwrap_or(0);
    assert!(gone > 0, "a row was removed");

    let plan = common::SCHOOL_PLAN.replace("chunk = 100\n", &format!("chunk = 100\n{MISSING}"));
    let service = PlanService::new(store.clone(), PlanEvents::default(), FlagCache::default());
    let imported = service
        .import_as(&Acting::cli(), &plan, None)
        .await
        .unwrap();
    let verify = || async {
        let job = Job::find(&plan, "school").unwrap();
        let start = Start {
            admission: Some(std::sync::Arc::new(PlanAdmission)),
            ..Start::new(&imported.id, Mode::Verify, Actor::System, "test")
        };
        let t = target::connect(&targets, "t").await.unwrap();
        let mut runner = Runner::start(store.clone(), t, job, start).await.unwrap();
        runner.verify().await.unwrap()
    };

    let r = verify().await;
    assert_eq!(
        r["legacy"].as_i64().unwrap() - r["new"].as_i64().unwrap(),
        1,
        "{r}"
    );
    assert_eq!(r["coverage_pct"], 100.0, "rounded, it would look full: {r}");
    assert_eq!(r["coverage_full"], false, "{r}");
    assert_eq!(r["missing"], 1, "{r}");
    assert_eq!(
        r["missing_keys"],
        serde_json::json!([gone]),
        "names the missing key"
    );
    assert_eq!(r["passed"], false);

    // An orphan row in the new table evens the counts; the gap is still seen.
    sqlx::query(
        "INSERT INTO projects_schoolproject SELECT id, 'x', 'x', 'x' FROM projects_project \
         WHERE project_type = 'self_study' ORDER BY id LIMIT 1",
    )
    .execute(&t.pool)
    .await
    .unwrap();
    let r = verify().await;
    assert_eq!(r["delta"], 0, "{r}");
    assert_eq!(r["coverage_full"], false, "{r}");
    assert_eq!(r["missing_keys"], serde_json::json!([gone]));
    drop(target_db);
}
