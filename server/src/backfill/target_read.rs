//! A plan statement that only reads, run on its target with limits it
//! cannot lift: its first column back, within a time limit. On PostgreSQL
//! in a `READ ONLY` transaction with `statement_timeout` and friends, rolled
//! back after (`Target::read_tx`). On SQLite — which runs inside the
//! console's own process — on a connection of its own, opened read-only
//! and `query_only`, whose progress handler ends the statement once its time
//! is up, and whose largest string or blob is `MAX_SQLITE_VALUE`: a query
//! that builds a gigabyte string fails there instead of taking the
//! console's memory.
use std::time::{Duration, Instant};

use app::dto::StoreBackend;
use sqlx::Row;

use super::target::Target;
use crate::db::StoreUrl;

/// The largest string or blob a SQLite read may make (16 MiB).
pub const MAX_SQLITE_VALUE: i32 = 16 * 1024 * 1024;

/// One value of a read's first column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Cell {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(n) => Some(*n as f64),
            Cell::Real(x) => Some(*x),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(n) => Some(*n),
            _ => None,
        }
    }
}

impl Target {
    /// Runs `sql` (already admitted for reading) with `binds` as `$1, $2…`
    /// and returns each row's first column, or the target's error; the
    /// statement is stopped after `limit`.
    pub async fn read_column(
        &self,
        sql: &str,
        binds: &[i64],
        limit: Duration,
    ) -> Result<Vec<Cell>, sqlx::Error> {
        let rows = self.read_rows(sql, binds, limit, 1).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next())
            .collect())
    }

    /// Like `read_column`, each row's first `width` columns.
    pub async fn read_rows(
        &self,
        sql: &str,
        binds: &[i64],
        limit: Duration,
        width: usize,
    ) -> Result<Vec<Vec<Cell>>, sqlx::Error> {
        match (&self.url, self.backend()) {
            (StoreUrl::Sqlite { path }, _) => {
                let (path, sql, binds) = (path.clone(), sql.to_string(), binds.to_vec());
                tokio::task::spawn_blocking(move || sqlite_rows(&path, &sql, &binds, limit, width))
                    .await
                    .map_err(|e| sqlx::Error::Protocol(format!("the read stopped: {e}")))?
                    .map_err(|e| sqlx::Error::Protocol(e.to_string()))
            }
            (_, StoreBackend::Postgres | StoreBackend::Sqlite) => {
                let mut tx = self.read_tx(limit).await?;
                let mut query = sqlx::query(sql);
                for b in binds {
                    query = query.bind(*b);
                }
                let rows = query.fetch_all(&mut *tx).await?;
                Ok(rows
                    .iter()
                    .map(|row| (0..width).map(|i| any_cell(row, i)).collect())
                    .collect())
            }
        }
    }
}

fn any_cell(row: &sqlx::any::AnyRow, i: usize) -> Cell {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Int);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map_or(Cell::Null, Cell::Real);
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v.map_or(Cell::Null, Cell::Text);
    }
    Cell::Null
}

fn sqlite_rows(
    path: &std::path::Path,
    sql: &str,
    binds: &[i64],
    limit: Duration,
    width: usize,
) -> Result<Vec<Vec<Cell>>, rusqlite::Error> {
    use rusqlite::limits::Limit;
    use rusqlite::types::ValueRef;
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA query_only = 1")?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_SQLITE_VALUE);
    let deadline = Instant::now() + limit;
    // Asked every 10,000 virtual-machine steps: a true answer interrupts.
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline));
    let mut statement = conn.prepare(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(binds.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(width);
        for i in 0..width {
            cells.push(match row.get_ref(i)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                ValueRef::Real(x) => Cell::Real(x),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => Cell::Null,
            });
        }
        out.push(cells);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE o (id INTEGER PRIMARY KEY, v REAL); INSERT INTO o VALUES (1, 0.5), (2, NULL);")
            .unwrap();
        (dir, path)
    }

    fn sqlite_column(
        path: &std::path::Path,
        sql: &str,
        binds: &[i64],
        limit: Duration,
    ) -> Result<Vec<Cell>, rusqlite::Error> {
        let rows = sqlite_rows(path, sql, binds, limit, 1)?;
        Ok(rows.into_iter().map(|mut r| r.remove(0)).collect())
    }

    #[test]
    fn reads_the_first_column_with_binds() {
        let (_dir, path) = target_db();
        let got = sqlite_column(
            &path,
            "SELECT v FROM o WHERE id >= ?1 ORDER BY id",
            &[1],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(got, vec![Cell::Real(0.5), Cell::Null]);
    }

    #[test]
    fn a_statement_past_its_time_or_size_is_stopped_and_writes_fail() {
        let (_dir, path) = target_db();
        let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c";
        let started = Instant::now();
        let e = sqlite_column(&path, forever, &[], Duration::from_millis(300)).unwrap_err();
        assert!(e.to_string().contains("interrupt"), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        // A string past 16 MiB (32 MB here; a gigabyte alike): refused, its
        // memory never taken.
        let huge = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) \
                    SELECT length(group_concat(hex(x) || 'padding-padding-padding', '')) FROM c";
        let e = sqlite_column(&path, huge, &[], Duration::from_secs(60)).unwrap_err();
        assert!(e.to_string().contains("too big"), "{e}");
        // A string doubled until it is a gigabyte: stopped at 16 MiB, and
        // the process never held anything near it.
        let doubling = "WITH RECURSIVE c(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM c \
                        WHERE length(s) < 1000000000) SELECT max(length(s)) FROM c";
        let e = sqlite_column(&path, doubling, &[], Duration::from_secs(60)).unwrap_err();
        assert!(e.to_string().contains("too big"), "{e}");
        let peak_kib: u64 = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        assert!(peak_kib < 300 * 1024, "peak RSS {peak_kib} KiB");
        let e = sqlite_column(
            &path,
            "DELETE FROM o RETURNING id",
            &[],
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("readonly")
                || e.to_string().contains("read-only")
                || e.to_string().contains("read only"),
            "{e}"
        );
    }
}
