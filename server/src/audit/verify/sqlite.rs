//! The SQLite walk: read-only, one statement, columns borrowed in place.
use std::path::Path;

use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags};

use super::Walk;
use crate::audit::chain::EventRef;

pub(super) fn walk(path: &Path, sql: &str) -> Result<Walk, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut walk = Walk::new();
    while let Some(row) = rows.next()? {
        let text = |i: usize| -> Result<&str, rusqlite::Error> {
            row.get_ref(i)?
                .as_str()
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
        };
        let event = EventRef {
            seq: row.get(0)?,
            at_ms: row.get(1)?,
            actor_kind: text(2)?,
            actor_id: text(3)?,
            actor_name: text(4)?,
            action: text(5)?,
            subject: text(6)?,
            details: text(7)?,
            client_addr: text(8)?,
            user_agent: text(9)?,
        };
        if !walk.step(&event, text(10)?, text(11)?) {
            break;
        }
    }
    Ok(walk)
}
