//! The chain's anchor outside the store: the newest head (seq and hash) the
//! console has seen, kept in a file beside the SQLite store, or for
//! PostgreSQL in `audit_anchor_dir` under a name the database itself gives
//! (its system identifier and the database's oid), so every console and CLI
//! reaching that database — from any directory, by any spelling of its host
//! — finds the same file. Someone who can rewrite the store's tables can
//! recompute every hash and the head, but not this file: `audit verify`
//! fails when the chain no longer holds the anchored event, or ends before
//! it. The anchor only moves forward along the same chain; a head that does
//! not extend it is refused (and logged), so tampering never becomes the
//! new truth. It is written when the store is new (at #0), and once it has
//! existed it is required: a store with events and no anchor fails `audit
//! verify` until someone accepts it knowingly (`audit verify --reanchor
//! --reason …`, itself an audit event); nothing writes a missing anchor anew.
use std::path::{Path, PathBuf};

use crate::db::{Store, StoreError, StoreUrl};

/// One anchored head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

/// Where PostgreSQL anchors live when `audit_anchor_dir` is not set:
/// `$XDG_DATA_HOME/rollout-console/audit-anchors` (or under
/// `~/.local/share`), the same whatever the working directory.
pub fn default_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    data.join("rollout-console").join("audit-anchors")
}

/// Where the anchor of `store` lives.
pub async fn path_for(store: &Store) -> Result<PathBuf, String> {
    match store.url() {
        StoreUrl::Sqlite { path } => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".anchor");
            Ok(path.with_file_name(name))
        }
        StoreUrl::Postgres { .. } => {
            let (system, database): (String, String) = sqlx::query_as(
                "SELECT (SELECT system_identifier::text FROM pg_control_system()), \
                 (SELECT oid::text FROM pg_database WHERE datname = current_database())",
            )
            .fetch_one(store.pool())
            .await
            .map_err(|e| {
                format!("cannot read the database's identity for its audit anchor: {e}")
            })?;
            let dir = store
                .anchor_dir()
                .map_or_else(default_dir, Path::to_path_buf);
            Ok(dir.join(format!("pg-{system}-{database}.anchor")))
        }
    }
}

/// Where earlier versions kept a PostgreSQL store's anchor: under the
/// working directory, named by the URL's host, port and database.
fn legacy_path(url: &StoreUrl) -> Option<PathBuf> {
    let StoreUrl::Postgres { url } = url else {
        return None;
    };
    let clean = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    };
    Some(PathBuf::from("data/audit-anchors").join(format!(
        "{}-{}-{}.anchor",
        clean(url.host_str().unwrap_or_default()),
        url.port().unwrap_or(5432),
        clean(url.path().trim_start_matches('/'))
    )))
}

/// What `audit verify` says of a store with events and no anchor.
pub fn missing(path: &Path) -> String {
    format!(
        "the audit anchor {} is missing (or cannot be read), and the store has events: \
         the chain cannot be checked against what was anchored outside the store. \
         If you know why (a restored backup, a moved store), accept the chain as it stands with \
         `rollout-console audit verify --reanchor --reason \"…\"`, which records who did it and why",
        path.display()
    )
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
    if anchor.seq == 0 {
        // Anchored when the store was new: every chain extends that.
        return Ok(None);
    }
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

/// Moves the anchor to the current head, if the head extends it; anchors
/// a new store (no events yet) at #0. A store with events whose anchor is
/// missing is refused, not anchored anew (see the module's doc); one kept
/// where earlier versions kept it is moved to where it lives now.
pub async fn checkpoint(store: &Store) -> Result<(), String> {
    let path = path_for(store).await?;
    let (seq, hash) = head(store).await?;
    let mut current = read(&path)?;
    if current.is_none() && seq > 0 {
        if let Some(old) = legacy_path(store.url()).filter(|p| p.exists()) {
            current = read(&old)?;
            tracing::info!(from = %old.display(), to = %path.display(), "audit anchor moved");
        }
    }
    match &current {
        Some(anchor) if anchor.seq == seq && anchor.hash == hash => return Ok(()),
        Some(anchor) => {
            if let Some(problem) = contradiction(store, anchor, seq)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("the audit anchor was not moved: {problem}"));
            }
        }
        None if seq > 0 => return Err(missing(&path)),
        None => {}
    }
    write(&path, seq, &hash)
}

/// Anchors the current head whatever the anchor said: `audit verify
/// --reanchor`, after it recorded who accepted the chain and why.
pub async fn reanchor(store: &Store) -> Result<PathBuf, String> {
    let path = path_for(store).await?;
    let (seq, hash) = head(store).await?;
    write(&path, seq, &hash)?;
    Ok(path)
}

async fn head(store: &Store) -> Result<(i64, String), String> {
    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(store.pool())
        .await
        .map_err(|e| format!("reading the audit head: {e}"))
}

fn write(path: &Path, seq: i64, hash: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("anchor.tmp");
    std::fs::write(&tmp, format!("{seq} {hash}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write the audit anchor {}: {e}", path.display()))
}
