//! Value parity, part of a verify run when the job declares `parity_legacy`
//! and `parity_new`: walks the legacy rows in key order, a chunk at a time,
//! reads the new rows of the same key range, and compares each key's value
//! on both sides (an author's `md5(row(…)::text)`, or the columns as
//! text). On PostgreSQL each chunk is first compared by a digest computed
//! on the target; only a chunk that differs is read row by row. Counts
//! prove that rows exist; this proves they hold what the legacy columns
//! hold, which is what a column drop destroys.
use app::dto::StoreBackend;
use serde_json::{json, Value};

use super::error::{one_line, BackfillError};
use super::target::{Target, READ_LIMIT};
use super::target_read::Cell;

/// Legacy rows per chunk.
pub const CHUNK: i64 = 10_000;
/// Keys listed in a result (the counts are exact).
pub const LISTED: usize = 100;

#[derive(Debug, Default, PartialEq)]
pub struct Parity {
    pub compared: i64,
    /// Keys on both sides whose values differ.
    pub differ: i64,
    /// Legacy keys with no new row, and new keys with no legacy row.
    pub missing: i64,
    pub extra: i64,
    /// The first `LISTED` keys of the three kinds, ascending.
    pub keys: Vec<i64>,
}

impl Parity {
    pub fn passed(&self) -> bool {
        self.differ == 0 && self.missing == 0 && self.extra == 0
    }

    pub fn json(&self) -> Value {
        json!({
            "compared": self.compared, "differ": self.differ, "missing": self.missing,
            "extra": self.extra, "keys": self.keys, "passed": self.passed(),
        })
    }

    fn list(&mut self, key: i64) {
        if self.keys.len() < LISTED {
            self.keys.push(key);
        }
    }
}

/// Compares the values of `legacy` and `new` (both admitted for reading)
/// on `target`.
pub async fn compare(target: &Target, legacy: &str, new: &str) -> Result<Parity, BackfillError> {
    let inner = |q: &str| q.trim().trim_end_matches(';').to_string();
    let (legacy, new) = (inner(legacy), inner(new));
    if target.backend() == StoreBackend::Postgres {
        return by_digest(target, &legacy, &new).await;
    }
    // SQLite (in the console's process, its planner walks the key index):
    // chunks of the legacy side by LIMIT, the new side over the same keys.
    let legacy_chunk = format!("SELECT * FROM ({legacy}) AS parity LIMIT {CHUNK}");
    let mut parity = Parity::default();
    let mut after = i64::MIN;
    loop {
        let old = rows(target, &legacy_chunk, "parity_legacy", [after, i64::MAX]).await?;
        // The last chunk's range runs to the end: it catches new rows past
        // the last legacy key.
        let last = match old.last() {
            Some((k, _)) if old.len() as i64 == CHUNK => *k,
            _ => i64::MAX,
        };
        let new_rows = rows(target, &new, "parity_new", [after, last]).await?;
        merge(&mut parity, &old, &new_rows);
        if last == i64::MAX {
            return Ok(parity);
        }
        after = last;
    }
}

/// PostgreSQL: key ranges sized to about `CHUNK` rows, each digested on
/// the target on both sides (no row leaves it while the digests agree),
/// and read row by row only where they differ. Ranges, not LIMIT, bound
/// each read, so the plan does not depend on the tables' statistics.
async fn by_digest(target: &Target, legacy: &str, new: &str) -> Result<Parity, BackfillError> {
    let digest = |q: &str| {
        format!(
            "SELECT count(*), md5(string_agg(CAST(k AS text) || ':' || coalesce('v' || CAST(v AS text), 'n'), \
             ',' ORDER BY k)) FROM ({q}) AS c(k, v)"
        )
    };
    let span = |q: &str| format!("SELECT min(k), max(k) FROM ({q}) AS c(k, v)");
    let (digest_legacy, digest_new) = (digest(legacy), digest(new));
    let mut ends: Vec<i64> = Vec::new();
    for (sql, field) in [(span(legacy), "parity_legacy"), (span(new), "parity_new")] {
        let row = read(target, &sql, field, [i64::MIN, i64::MAX], 2).await?;
        ends.extend(row.iter().flatten().filter_map(Cell::as_i64));
    }
    let mut parity = Parity::default();
    let (Some(&lo), Some(&hi)) = (ends.iter().min(), ends.iter().max()) else {
        return Ok(parity);
    };
    let count_of = |rows: &[Vec<Cell>]| match rows.first().map(Vec::as_slice) {
        Some([Cell::Int(n), d]) => (*n, d.clone()),
        _ => (-1, Cell::Null),
    };
    let mut after = lo.saturating_sub(1);
    let mut stride = CHUNK;
    while after < hi {
        let last = after.saturating_add(stride).min(hi);
        let old = count_of(&read(target, &digest_legacy, "parity_legacy", [after, last], 2).await?);
        let now = count_of(&read(target, &digest_new, "parity_new", [after, last], 2).await?);
        if old == now {
            parity.compared += old.0;
        } else {
            let old = rows(target, legacy, "parity_legacy", [after, last]).await?;
            let now = rows(target, new, "parity_new", [after, last]).await?;
            merge(&mut parity, &old, &now);
        }
        // Aim the next range at `CHUNK` rows (halved or grown fourfold at most).
        let seen = old.0.max(now.0);
        stride = if seen > 0 {
            ((stride as f64) * (CHUNK as f64) / (seen as f64))
                .clamp(stride as f64 / 2.0, stride as f64 * 4.0)
                .max(1.0) as i64
        } else {
            stride.saturating_mul(4)
        };
        after = last;
    }
    Ok(parity)
}

async fn read(
    target: &Target,
    sql: &str,
    field: &str,
    binds: [i64; 2],
    width: usize,
) -> Result<Vec<Vec<Cell>>, BackfillError> {
    target
        .read_rows(sql, &binds, READ_LIMIT, width)
        .await
        .map_err(|e| BackfillError::Target {
            target: target.name.clone(),
            message: format!("{field}: {}", one_line(&e)),
        })
}

async fn rows(
    target: &Target,
    sql: &str,
    field: &str,
    binds: [i64; 2],
) -> Result<Vec<(i64, Cell)>, BackfillError> {
    keyed(read(target, sql, field, binds, 2).await?, field)
}

/// Rows as (key, value), refused unless the keys ascend.
fn keyed(rows: Vec<Vec<Cell>>, field: &str) -> Result<Vec<(i64, Cell)>, BackfillError> {
    let mut out: Vec<(i64, Cell)> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = row.into_iter();
        let key = cells.next().and_then(|c| c.as_i64()).ok_or_else(|| {
            BackfillError::Invalid(format!(
                "{field}: the first column must be the integer key (fix the plan file)"
            ))
        })?;
        if out.last().is_some_and(|(k, _)| *k >= key) {
            return Err(BackfillError::Invalid(format!(
                "{field}: rows must come ordered by key, each key once (key {key} came after {}); \
                 add ORDER BY to the query",
                out.last().map_or(0, |(k, _)| *k)
            )));
        }
        out.push((key, cells.next().unwrap_or(Cell::Null)));
    }
    Ok(out)
}

/// Walks both sorted lists once.
fn merge(parity: &mut Parity, old: &[(i64, Cell)], new: &[(i64, Cell)]) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some((a, va)), Some((b, vb))) if a == b => {
                parity.compared += 1;
                if va != vb {
                    parity.differ += 1;
                    parity.list(*a);
                }
                i += 1;
                j += 1;
            }
            (Some((a, _)), Some((b, _))) if a < b => {
                parity.missing += 1;
                parity.list(*a);
                i += 1;
            }
            (Some((a, _)), None) => {
                parity.missing += 1;
                parity.list(*a);
                i += 1;
            }
            (_, Some((b, _))) => {
                parity.extra += 1;
                parity.list(*b);
                j += 1;
            }
            (None, None) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(i64, &str)]) -> Vec<(i64, Cell)> {
        list.iter()
            .map(|(k, v)| (*k, Cell::Text(v.to_string())))
            .collect()
    }

    #[test]
    fn differing_missing_and_extra_keys_are_listed_in_order() {
        let mut p = Parity::default();
        merge(
            &mut p,
            &rows(&[(1, "a"), (2, "b"), (3, "c"), (5, "e")]),
            &rows(&[(1, "a"), (2, "B"), (4, "d"), (5, "e")]),
        );
        assert_eq!(
            p,
            Parity {
                compared: 3,
                differ: 1,
                missing: 1,
                extra: 1,
                keys: vec![2, 3, 4],
            }
        );
        assert!(!p.passed());
    }

    #[test]
    fn unordered_or_non_integer_keys_are_refused() {
        let e = keyed(
            vec![
                vec![Cell::Int(2), Cell::Null],
                vec![Cell::Int(1), Cell::Null],
            ],
            "parity_new",
        )
        .unwrap_err();
        assert!(e.to_string().contains("ordered by key"), "{e}");
        let e = keyed(vec![vec![Cell::Text("x".into())]], "parity_legacy").unwrap_err();
        assert!(e.to_string().contains("integer key"), "{e}");
    }
}
