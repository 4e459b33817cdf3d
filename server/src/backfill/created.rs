//! The keys each run created, one row per chunk (`backfill_created`), as
//! ranges of keys: written before the chunk commits on the target, read
//! back and forgotten by undo.
use crate::db::{Store, StoreError};

/// Keys as ascending ranges: `[1,2,3,5]` → `"1-3,5"`.
pub fn encode_ranges(keys: &[i64]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let start = keys[i];
        let mut end = start;
        while i + 1 < keys.len() && keys[i + 1] == end + 1 {
            i += 1;
            end = keys[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

/// The inverse of [`encode_ranges`] (negative keys are written `-5--3`).
pub fn decode_ranges(text: &str) -> Vec<i64> {
    let mut keys = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        // The separator is the first '-' that follows a digit.
        let split = part
            .char_indices()
            .skip(1)
            .find(|&(i, c)| c == '-' && part.as_bytes()[i - 1].is_ascii_digit())
            .map(|(i, _)| i);
        match split {
            Some(i) => {
                if let (Ok(a), Ok(b)) = (part[..i].parse::<i64>(), part[i + 1..].parse::<i64>()) {
                    keys.extend(a..=b);
                }
            }
            None => keys.extend(part.parse::<i64>()),
        }
    }
    keys
}

/// Records the keys a chunk is about to commit on the target, as one row.
/// Committed before the target commits: a key recorded for a chunk that
/// then failed does not exist on the target, and undo finds nothing to
/// remove; a retried chunk replaces its record.
pub async fn record_created(store: &Store, run_id: &str, keys: &[i64]) -> Result<(), StoreError> {
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    let Some(&first) = sorted.first() else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO backfill_created (run_id, first_key, keys) VALUES ($1, $2, $3) \
         ON CONFLICT (run_id, first_key) DO UPDATE SET keys = excluded.keys",
    )
    .bind(run_id)
    .bind(first)
    .bind(encode_ranges(&sorted))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The next chunk record of a run after `after` (its first key), with its keys.
pub async fn next_created(
    store: &Store,
    run_id: &str,
    after: i64,
) -> Result<Option<(i64, Vec<i64>)>, StoreError> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT first_key, keys FROM backfill_created WHERE run_id = $1 AND first_key > $2 \
         ORDER BY first_key LIMIT 1",
    )
    .bind(run_id)
    .bind(after)
    .fetch_optional(store.pool())
    .await?;
    Ok(row.map(|(first, keys)| (first, decode_ranges(&keys))))
}

pub async fn forget_created(store: &Store, run_id: &str, first_key: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM backfill_created WHERE run_id = $1 AND first_key = $2")
        .bind(run_id)
        .bind(first_key)
        .execute(store.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ranges_round_trip() {
        for keys in [
            vec![1, 2, 3, 5, 7, 8],
            vec![42],
            vec![],
            vec![-5, -4, -3, 0, 1],
            vec![i64::MIN + 1, 10, 11],
        ] {
            let text = encode_ranges(&keys);
            assert_eq!(decode_ranges(&text), keys, "{text}");
        }
        assert_eq!(encode_ranges(&[1, 2, 3, 5]), "1-3,5");
        assert_eq!(encode_ranges(&(1..=1000).collect::<Vec<_>>()), "1-1000");
    }
}
