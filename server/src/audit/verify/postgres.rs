//! The PostgreSQL walk: `COPY (…) TO STDOUT` in text format streams the rows
//! as tab-separated lines with far less per-row work than decoding result
//! rows; a blocking thread parses and hashes while the next chunk arrives.
use std::borrow::Cow;

use futures_util::TryStreamExt;
use sqlx::{Connection, PgConnection};
use tokio::sync::mpsc;

use super::Walk;

/// Bytes handed to the checker at a time.
const BUFFER: usize = 1 << 20;
use crate::audit::chain::EventRef;

pub(super) async fn walk(url: &str, sql: &str) -> Result<Walk, String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let checker = tokio::task::spawn_blocking(move || consume(rx));
    let copied = async {
        let mut chunks = conn
            .copy_out_raw(&format!("COPY ({sql}) TO STDOUT"))
            .await?;
        // PostgreSQL sends one message per row: gather them into larger
        // buffers so the hand-over to the checker is not per row.
        let mut buf = Vec::with_capacity(BUFFER);
        while let Some(chunk) = chunks.try_next().await? {
            buf.extend_from_slice(&chunk);
            if buf.len() >= BUFFER {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(BUFFER));
                if tx.send(full).await.is_err() {
                    return Ok(()); // the checker found a break and stopped
                }
            }
        }
        if !buf.is_empty() {
            let _ = tx.send(buf).await;
        }
        Ok::<_, sqlx::Error>(())
    }
    .await;
    drop(tx);
    let walk = checker.await.expect("the verify checker panicked")?;
    let _ = conn.close().await;
    if walk.broken.is_none() {
        copied.map_err(|e| e.to_string())?;
    }
    Ok(walk)
}

/// Splits the chunks into lines (a line may span chunks) and walks them.
fn consume(mut rx: mpsc::Receiver<Vec<u8>>) -> Result<Walk, String> {
    let mut walk = Walk::new();
    let mut pending: Vec<u8> = Vec::new();
    while let Some(chunk) = rx.blocking_recv() {
        let mut rest: &[u8] = &chunk;
        if !pending.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    pending.extend_from_slice(&rest[..end]);
                    if !line(&mut walk, &pending)? {
                        return Ok(walk);
                    }
                    pending.clear();
                    rest = &rest[end + 1..];
                }
                None => {
                    pending.extend_from_slice(rest);
                    continue;
                }
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            if !line(&mut walk, &rest[..end])? {
                return Ok(walk);
            }
            rest = &rest[end + 1..];
        }
        pending.extend_from_slice(rest);
    }
    if !pending.is_empty() {
        return Err("the COPY stream ended in the middle of a row".to_string());
    }
    Ok(walk)
}

/// One row: 12 tab-separated fields. False once the chain is broken.
fn line(walk: &mut Walk, raw: &[u8]) -> Result<bool, String> {
    let mut fields: [Cow<'_, str>; 12] = Default::default();
    let mut n = 0;
    for field in raw.split(|&b| b == b'\t') {
        if n == 12 {
            return Err("a COPY row has more than 12 fields".to_string());
        }
        fields[n] = unescape(field)?;
        n += 1;
    }
    if n != 12 {
        return Err(format!("a COPY row has {n} fields, not 12"));
    }
    let int = |i: usize| {
        fields[i]
            .parse::<i64>()
            .map_err(|e| format!("column {i} is not an integer: {e}"))
    };
    let event = EventRef {
        seq: int(0)?,
        at_ms: int(1)?,
        actor_kind: &fields[2],
        actor_id: &fields[3],
        actor_name: &fields[4],
        action: &fields[5],
        subject: &fields[6],
        details: &fields[7],
        client_addr: &fields[8],
        user_agent: &fields[9],
    };
    Ok(walk.step(&event, &fields[10], &fields[11]))
}

/// A field of COPY's text format: borrowed when it holds no backslash
/// (nearly always), else decoded (`\b \f \n \r \t \v \\`, octal and hex
/// escapes, and `\X` for any other X).
fn unescape(field: &[u8]) -> Result<Cow<'_, str>, String> {
    if !field.contains(&b'\\') {
        return std::str::from_utf8(field)
            .map(Cow::Borrowed)
            .map_err(|e| e.to_string());
    }
    if field == b"\\N" {
        return Err("a NULL in the audit trail".to_string());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 == field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = field[i + 1];
        i += 2;
        match c {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut k = 0;
                while k < 2 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                    v = v * 8 + u32::from(field[i] - b'0');
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && i < field.len() && field[i].is_ascii_hexdigit() {
                    v = v * 16 + (field[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn copy_text_escapes() {
        assert_eq!(unescape(b"plain").unwrap(), "plain");
        assert_eq!(unescape(b"a\\tb\\nc\\\\d\\re").unwrap(), "a\tb\nc\\d\re");
        assert_eq!(unescape(b"\\b\\f\\v").unwrap(), "\u{8}\u{c}\u{b}");
        assert_eq!(unescape(b"\\101\\x42\\q").unwrap(), "ABq");
        assert!(unescape(b"\\N").is_err());
    }
}
