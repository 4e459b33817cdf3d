//! The backfill engine against real target databases (a SQLite file, a
//! PostgreSQL database): dry-run changes nothing; a run applies every row but
//! the ones that break a constraint, which end up in the error list with
//! their keys; verify reports delta and coverage; undo removes exactly what
//! the run created; resume-from starts after a key; a job whose target
//! sessions are killed mid-run retries and ends with exact parity.
use crate::common;

mod lifecycle;
mod live;
mod parity;
mod sandbox;
mod window;

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

/// The school plan with its job's `chunk = 100` line replaced by `lines`.
fn job_with(lines: &str) -> String {
    PLAN.replace("chunk = 100", lines)
}

/// `setup` with the console on a fresh SQLite store.
async fn on_sqlite_console(target_backend: Backend, rows: i64, plan_text: &str) -> Setup {
    setup(
        TestDb::new(Backend::Sqlite).await,
        target_backend,
        rows,
        plan_text,
    )
    .await
}

/// Runs `$body(Setup)` on each console store × each target backend, with
/// `$rows` demo rows on the target and the school plan imported.
macro_rules! on_both_targets {
    ($rows:expr, $($target:ident => $backend:ident),+ => $body:ident) => {
        $(
            mod $target {
                use super::*;
                $crate::on_both_backends! { console => on_target; }
                async fn on_target(console: TestDb) {
                    $body(setup(console, Backend::$backend, $rows, PLAN).await).await
                }
            }
        )+
    };
}
pub(crate) use on_both_targets;

async fn setup(console: TestDb, target_backend: Backend, rows: i64, plan_text: &str) -> Setup {
    let store = console.store().await;
    let target_db = TestDb::new(target_backend).await;
    let targets = crate::common::targets::one("t", &target_db.database_url(), None, true);
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

/// The legacy school projects, the broken ones among them, and the rows the
/// school job creates.
const LEGACY: &str =
    "SELECT COUNT(*) FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE";
const BROKEN: &str = "SELECT COUNT(*) FROM projects_project WHERE project_type = 'school' AND is_draft = FALSE AND course_code IS NULL";
const NEW: &str = "SELECT COUNT(*) FROM projects_schoolproject";
