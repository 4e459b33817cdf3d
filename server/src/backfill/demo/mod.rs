//! The demo target, in the shape of the seed playbooks: the STI seeds'
//! legacy `projects_project` table (school, self-study and draft projects
//! with their legacy columns, a boolean `is_draft`) and the empty subtype
//! tables `projects_schoolproject` and `projects_selfstudyproject` the STI
//! template's jobs fill; and seed 004's finance tables (see `finance`).
//! A few project rows break the subtype tables' constraints on purpose, so
//! the error path shows.
use app::dto::StoreBackend;
use sqlx::{AnyPool, Executor};

use super::error::BackfillError;

pub mod finance;

/// In every this many projects, one school project has no course code and one
/// self-study project an unknown study frequency (ids ≡ 20 and ≡ 31).
pub const BROKEN_EVERY: i64 = 5_000;

const SCHEMA: &str = "
CREATE TABLE projects_project (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    project_type TEXT NOT NULL,
    is_draft BOOLEAN NOT NULL,
    course_name TEXT,
    course_code TEXT,
    teacher_name TEXT,
    goal_description TEXT,
    study_frequency TEXT
);
CREATE TABLE projects_schoolproject (
    project_id BIGINT PRIMARY KEY REFERENCES projects_project (id),
    course_name TEXT NOT NULL,
    course_code TEXT NOT NULL,
    teacher_name TEXT NOT NULL
);
CREATE TABLE projects_selfstudyproject (
    project_id BIGINT PRIMARY KEY REFERENCES projects_project (id),
    goal_description TEXT NOT NULL,
    study_frequency TEXT NOT NULL CHECK (study_frequency IN ('daily', 'weekly', 'monthly'))
);";

/// The tables an older console's demo made (dropped on a new seed).
const OLD_TABLES: [&str; 3] = ["school_projects", "self_study_projects", "projects"];

/// `SELECT … FROM` the integers 1..=$1 as `i`, on `backend`: one set-based
/// statement, fast for millions of rows.
fn over_series(backend: StoreBackend, insert: &str, select: &str) -> String {
    match backend {
        StoreBackend::Postgres => {
            format!("{insert} SELECT {select} FROM generate_series(1, $1) AS s(i)")
        }
        StoreBackend::Sqlite => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) \
             {insert} SELECT {select} FROM s"
        ),
    }
}

/// Drops and recreates the demo tables: `rows` legacy projects (55 %
/// school, 35 % self-study, 10 % drafts) and seed 004's organisations and
/// transactions (`finance::seed`).
pub async fn seed(pool: &AnyPool, backend: StoreBackend, rows: i64) -> Result<(), BackfillError> {
    let mut tx = pool.begin().await?;
    let tables = [
        "projects_schoolproject",
        "projects_selfstudyproject",
        "projects_project",
    ];
    for table in tables.iter().chain(OLD_TABLES.iter()) {
        tx.execute(format!("DROP TABLE IF EXISTS {table}").as_str())
            .await?;
    }
    tx.execute(SCHEMA).await?;
    let fill = over_series(
        backend,
        "INSERT INTO projects_project",
        &format!(
            "i, 'project ' || i, \
             CASE WHEN i % 20 < 11 THEN 'school' WHEN i % 20 < 18 THEN 'self_study' ELSE 'school' END, \
             CASE WHEN i % 20 >= 18 THEN TRUE ELSE FALSE END, \
             'Course ' || (i % 300), CASE WHEN i % {BROKEN_EVERY} = 20 THEN NULL ELSE 'C' || (i % 997) END, \
             'Teacher ' || (i % 150), 'Goal ' || (i % 50), \
             CASE WHEN i % {BROKEN_EVERY} = 31 THEN 'sometimes' WHEN i % 3 = 0 THEN 'daily' WHEN i % 3 = 1 THEN 'weekly' ELSE 'monthly' END"
        ),
    );
    sqlx::query(&fill).bind(rows).execute(&mut *tx).await?;
    finance::seed(&mut tx, backend, rows).await?;
    tx.commit().await?;
    Ok(())
}
