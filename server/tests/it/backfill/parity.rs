//! Value parity: a verify that compares the backfilled values with the
//! legacy ones, row by row, and lists exactly the keys that differ — over a
//! million rows on PostgreSQL, and on SQLite; `values_match` reads it.
use super::*;

/// The school plan with a verify-only job comparing `parity_legacy` with
/// `parity_new` by `value` (an SQL expression over name and kind).
fn plan(value_legacy: &str, value_new: &str) -> String {
    format!(
        "{PLAN}
[[jobs]]
name = \"values\"
target = \"t\"
verify_legacy = \"SELECT COUNT(*) FROM parity_legacy\"
verify_new = \"SELECT COUNT(*) FROM parity_new\"
parity_legacy = \"SELECT id, {value_legacy} FROM parity_legacy WHERE id > $1 AND id <= $2 ORDER BY id\"
parity_new = \"SELECT legacy_id, {value_new} FROM parity_new WHERE legacy_id > $1 AND legacy_id <= $2 ORDER BY legacy_id\"
"
    )
}

async fn verify(s: &Setup) -> serde_json::Value {
    let job = Job::find(&s.plan, "values").unwrap();
    let t = target::connect(&s.targets, "t").await.unwrap();
    let mut runner = Runner::start(
        s.store.clone(),
        t,
        job,
        Start {
            environment: "dev".into(),
            ..Start::new(&s.plan_id, Mode::Verify, Actor::System, "test")
        },
    )
    .await
    .unwrap();
    runner.verify().await.unwrap()
}

async fn fill(s: &Setup, rows: i64, statements: &[&str]) {
    let t = target::connect(&s.targets, "t").await.unwrap();
    for sql in statements {
        sqlx::query(&sql.replace("ROWS", &rows.to_string()))
            .execute(&t.pool)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_three_changed_values_exactly_three_keys() {
    let md5 = "md5(name || '|' || kind)";
    let s = on_sqlite_console(Backend::Postgres, 100, &plan(md5, md5)).await;
    fill(
        &s,
        1_000_000,
        &[
            "CREATE TABLE parity_legacy AS SELECT i AS id, 'project ' || i AS name, \
             CASE WHEN i % 3 = 0 THEN 'school' ELSE 'self_study' END AS kind FROM generate_series(1, ROWS) AS i",
            "ALTER TABLE parity_legacy ADD PRIMARY KEY (id)",
            "CREATE TABLE parity_new AS SELECT id AS legacy_id, name, kind FROM parity_legacy",
            "ALTER TABLE parity_new ADD PRIMARY KEY (legacy_id)",
        ],
    )
    .await;
    let clean = verify(&s).await;
    assert_eq!(clean["values"]["compared"], 1_000_000, "{clean}");
    assert_eq!(clean["values"]["passed"], true, "{clean}");
    assert_eq!(clean["passed"], true, "{clean}");

    // Three values changed after the backfill; the counts cannot see it.
    fill(
        &s,
        0,
        &["UPDATE parity_new SET kind = 'school' WHERE legacy_id IN (17, 500002, 999998)"],
    )
    .await;
    let r = verify(&s).await;
    assert_eq!(r["delta"], 0, "the counts still agree: {r}");
    assert_eq!(r["coverage_full"], true, "{r}");
    assert_values(&r, serde_json::json!([17, 500002, 999998]), (3, 0, 0));
    assert_eq!(r["passed"], false, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_missing_extra_and_changed_rows_are_told_apart() {
    let value = "name || '|' || kind";
    let s = on_sqlite_console(Backend::Sqlite, 100, &plan(value, value)).await;
    fill(
        &s,
        25_000,
        &[
            "CREATE TABLE parity_legacy (id INTEGER PRIMARY KEY, name TEXT, kind TEXT)",
            "INSERT INTO parity_legacy WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ROWS) \
             SELECT i, 'project ' || i, CASE WHEN i % 3 = 0 THEN 'school' ELSE 'self_study' END FROM c",
            "CREATE TABLE parity_new (legacy_id INTEGER PRIMARY KEY, name TEXT, kind TEXT)",
            "INSERT INTO parity_new SELECT id, name, kind FROM parity_legacy",
            "UPDATE parity_new SET name = 'renamed' WHERE legacy_id = 12000",
            "DELETE FROM parity_new WHERE legacy_id = 20000",
            "INSERT INTO parity_new VALUES (30000, 'stray', 'school')",
        ],
    )
    .await;
    let r = verify(&s).await;
    assert_values(&r, serde_json::json!([12000, 20000, 30000]), (1, 1, 1));
    assert_eq!(r["values"]["compared"], 24_999, "{r}");
    assert_eq!(r["passed"], false);
}

/// The value comparison of `r` named `keys` and found (differ, missing, extra).
#[track_caller]
fn assert_values(r: &serde_json::Value, keys: serde_json::Value, found: (i64, i64, i64)) {
    let values = &r["values"];
    assert_eq!(values["keys"], keys, "{r}");
    let count = |what: &str| values[what].as_i64().unwrap();
    assert_eq!(
        (count("differ"), count("missing"), count("extra")),
        found,
        "{r}"
    );
}
