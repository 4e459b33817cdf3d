//! The chain's anchor outside the store: the newest head (seq and hash) the
//! console has seen, kept in a file beside the SQLite store (or under
//! `data/audit-anchors/` for PostgreSQL). Someone who can rewrite the store's
//! tables can recompute every hash and the head, but not this file: `audit
//! verify` fails when the chain no longer holds the anchored event, or ends
//! before it. The anchor only moves forward along the same chain; a head
//! that does not extend it is refused (and logged), so tampering never
//! becomes the new truth.
use std::path::{Path, PathBuf};

use crate::db::{Store, StoreError, StoreUrl};

/// One anchored head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

/// Where the anchor of `url` lives.
pub fn path_for(url: &StoreUrl) -> PathBuf {
    match url {
        StoreUrl::Sqlite { path } => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".anchor");
            path.with_file_name(name)
        }
        StoreUrl::Postgres { url } => {
            let clean = |s: &str| {
                s.chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect::<String>()
            };
            PathBuf::from("data/audit-anchors").join(format!(
                "{}-{}-{}.anchor",
                clean(url.host_str().unwrap_or_default()),
                url.port().unwrap_or(5432),
                clean(url.path().trim_start_matches('/'))
            ))
        }
    }
}

/// The anchor, if one was written.
pub fn read(path: &Path) -> Result<Option<Anchor>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read the audit anchor {}: {e}",
                path.display()
            ))
        }
    };
    let mut parts = text.split_whitespace();
    match (parts.next().and_then(|s| s.parse().ok()), parts.next()) {
        (Some(seq), Some(hash)) if hash.len() == 64 => Ok(Some(Anchor {
            seq,
            hash: hash.to_string(),
        })),
        _ => Err(format!(
            "the audit anchor {} is not \"SEQ HASH\": it was altered",
            path.display()
        )),
    }
}

/// The hash of event `seq` as stored, if it exists.
async fn stored_hash(store: &Store, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = $1")
            .bind(seq)
            .fetch_optional(store.pool())
            .await?,
    )
}

/// Why the chain does not hold `anchor`, if it does not.
pub async fn contradiction(
    store: &Store,
    anchor: &Anchor,
    head_seq: i64,
) -> Result<Option<String>, StoreError> {
    if head_seq < anchor.seq {
        return Ok(Some(format!(
            "the chain ends at #{head_seq}, but the anchor outside the store saw it reach #{}: events were removed",
            anchor.seq
        )));
    }
    Ok(match stored_hash(store, anchor.seq).await? {
        Some(hash) if hash == anchor.hash => None,
        Some(_) => Some(format!(
            "event #{} is not the one the anchor outside the store recorded: the chain was rewritten",
            anchor.seq
        )),
        None => Some(format!(
            "event #{} that the anchor outside the store recorded is gone: events were removed",
            anchor.seq
        )),
    })
}

/// Moves the anchor to the current head, if the head extends it.
pub async fn checkpoint(store: &Store) -> Result<(), String> {
    let path = path_for(store.url());
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(store.pool())
            .await
            .map_err(|e| format!("reading the audit head: {e}"))?;
    let current = read(&path)?;
    if let Some(anchor) = &current {
        if anchor.seq == seq && anchor.hash == hash {
            return Ok(());
        }
        if let Some(problem) = contradiction(store, anchor, seq)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!("the audit anchor was not moved: {problem}"));
        }
    }
    if seq == 0 {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("anchor.tmp");
    std::fs::write(&tmp, format!("{seq} {hash}\n"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("cannot write the audit anchor {}: {e}", path.display()))
}
