//! The demo target: a legacy `projects` table in the shape of the STI seeds
//! (school, self-study and draft projects with their legacy columns) and the
//! empty subtype tables the STI template's jobs fill. A few rows break the
//! subtype tables' constraints on purpose, so the error path shows.
use app::dto::StoreBackend;
use sqlx::{AnyPool, Executor};

use super::error::BackfillError;

/// In every this many projects, one school project has no course code and one
/// self-study project an unknown study frequency (ids ≡ 20 and ≡ 31).
pub const BROKEN_EVERY: i64 = 5_000;

const SCHEMA: &str = "
CREATE TABLE projects (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    project_type TEXT NOT NULL,
    is_draft BIGINT NOT NULL,
    course_name TEXT,
    course_code TEXT,
    teacher_name TEXT,
    goal_description TEXT,
    study_frequency TEXT
);
CREATE TABLE school_projects (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id),
    course_name TEXT NOT NULL,
    course_code TEXT NOT NULL,
    teacher_name TEXT NOT NULL
);
CREATE TABLE self_study_projects (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id),
    goal_description TEXT NOT NULL,
    study_frequency TEXT NOT NULL CHECK (study_frequency IN ('daily', 'weekly', 'monthly'))
);";

/// Drops and recreates the demo tables and fills `projects` with `rows` rows:
/// 55 % school, 35 % self-study, 10 % drafts.
pub async fn seed(pool: &AnyPool, backend: StoreBackend, rows: i64) -> Result<(), BackfillError> {
    let mut tx = pool.begin().await?;
    for table in ["school_projects", "self_study_projects", "projects"] {
        tx.execute(format!("DROP TABLE IF EXISTS {table}").as_str())
            .await?;
    }
    tx.execute(SCHEMA).await?;
    // One set-based statement per backend: fast for millions of rows.
    let fill = match backend {
        StoreBackend::Postgres => format!(
            "INSERT INTO projects SELECT i, 'project ' || i, \
             CASE WHEN i % 20 < 11 THEN 'school' WHEN i % 20 < 18 THEN 'self_study' ELSE 'school' END, \
             CASE WHEN i % 20 >= 18 THEN 1 ELSE 0 END, \
             'Course ' || (i % 300), CASE WHEN i % {BROKEN_EVERY} = 20 THEN NULL ELSE 'C' || (i % 997) END, \
             'Teacher ' || (i % 150), 'Goal ' || (i % 50), \
             CASE WHEN i % {BROKEN_EVERY} = 31 THEN 'sometimes' WHEN i % 3 = 0 THEN 'daily' WHEN i % 3 = 1 THEN 'weekly' ELSE 'monthly' END \
             FROM generate_series(1, $1) AS i"
        ),
        StoreBackend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
             INSERT INTO projects SELECT i, 'project ' || i, \
             CASE WHEN i % 20 < 11 THEN 'school' WHEN i % 20 < 18 THEN 'self_study' ELSE 'school' END, \
             CASE WHEN i % 20 >= 18 THEN 1 ELSE 0 END, \
             'Course ' || (i % 300), CASE WHEN i % {BROKEN_EVERY} = 20 THEN NULL ELSE 'C' || (i % 997) END, \
             'Teacher ' || (i % 150), 'Goal ' || (i % 50), \
             CASE WHEN i % {BROKEN_EVERY} = 31 THEN 'sometimes' WHEN i % 3 = 0 THEN 'daily' WHEN i % 3 = 1 THEN 'weekly' ELSE 'monthly' END \
             FROM n"
        ),
    };
    sqlx::query(&fill).bind(rows).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
