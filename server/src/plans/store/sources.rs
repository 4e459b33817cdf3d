//! Every version of every plan file (`plan_sources`), keyed by its SHA-256:
//! kept when a plan is imported, edited, or a change request proposes a
//! file, in that change's transaction; listed and fetched by hash, so the
//! file an approval or an edit was made on is never lost to a later edit.
use sqlx::{AnyConnection, Row};

use crate::db::{Store, StoreError};
use crate::plans::file::sha256_hex;

/// At most this many bytes of diff go into an audit event; the rest is
/// said to be cut (both files stay fetchable by their SHA-256).
pub const MAX_DIFF: usize = 16 * 1024;

/// What an edit changed in the plan file, as a unified diff with two lines
/// of context ("" when nothing did), for its audit event.
pub fn diff(before: &str, after: &str) -> String {
    let text = similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(2)
        .header("before", "after")
        .to_string();
    if text.len() <= MAX_DIFF {
        return text;
    }
    let mut cut = MAX_DIFF;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n… (cut at {MAX_DIFF} bytes: fetch both files by their SHA-256)\n",
        &text[..cut]
    )
}

/// Keeps `source` as one of `plan_id`'s files (once: the first time it is seen).
pub async fn keep(
    conn: &mut AnyConnection,
    plan_id: &str,
    source: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO plan_sources (plan_id, source_sha256, source_toml, first_at_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(plan_id)
    .bind(sha256_hex(source))
    .bind(source)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The plan's files, oldest first: (SHA-256, first seen at).
pub async fn list(
    conn: &mut AnyConnection,
    plan_id: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT source_sha256, first_at_ms FROM plan_sources WHERE plan_id = $1 \
         ORDER BY first_at_ms, source_sha256",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::Query)
}

/// One of the plan's files by its SHA-256 (a prefix of at least 12 hex
/// digits will do, as long as it names one).
pub async fn get(
    conn: &mut AnyConnection,
    plan_id: &str,
    sha256: &str,
) -> Result<Option<String>, StoreError> {
    let prefix = sha256.trim().to_ascii_lowercase();
    if prefix.len() < 12 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT source_toml FROM plan_sources WHERE plan_id = $1 AND source_sha256 LIKE $2 LIMIT 2",
    )
    .bind(plan_id)
    .bind(format!("{prefix}%"))
    .fetch_all(&mut *conn)
    .await?;
    Ok(match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}

/// Keeps the current file of every plan that has none kept (plans from
/// before `plan_sources`); run at start-up.
pub async fn backfill(store: &Store) -> Result<u64, StoreError> {
    let mut tx = store.begin_write().await?;
    let missing: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT p.id, p.source_toml, p.updated_at_ms FROM plans p \
         WHERE NOT EXISTS (SELECT 1 FROM plan_sources s WHERE s.plan_id = p.id)",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, source, at) in &missing {
        keep(&mut tx, id, source, *at).await?;
    }
    tx.commit().await?;
    Ok(missing.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_shows_what_changed_with_context_and_is_bounded() {
        let before = "[plan]\nname = \"x\"\n\n[[guardrails]]\nmax = 0.001\n";
        let after = before.replace("max = 0.001", "max = 0.01");
        let d = diff(before, &after);
        assert!(d.contains("-max = 0.001\n+max = 0.01"), "{d}");
        assert!(d.starts_with("--- before\n+++ after"), "{d}");
        assert_eq!(diff(before, before), "");
        let big = "line\n".repeat(10_000);
        let d = diff("", &big);
        assert!(
            d.len() < MAX_DIFF + 200 && d.ends_with("SHA-256)\n"),
            "{}",
            d.len()
        );
    }
}
