//! Reading the audit trail: the review filter, keyset pages, single events,
//! and ordered batches for export. SQL is assembled from fixed fragments;
//! every value the user typed is a bound parameter.
use app::dto::audit::{AuditEvent, AuditQuery};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::db::{Store, StoreError};

/// Events per page in the review UI.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextMatch {
    Exact(String),
    /// Written `prefix*`.
    Prefix(String),
}

impl TextMatch {
    pub fn parse(raw: &str) -> Option<TextMatch> {
        let raw = raw.trim();
        if raw.is_empty() || raw == "*" {
            return None;
        }
        Some(match raw.strip_suffix('*') {
            Some(prefix) => TextMatch::Prefix(prefix.to_string()),
            None => TextMatch::Exact(raw.to_string()),
        })
    }
}

/// A validated filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<TextMatch>,
    pub subject: Option<TextMatch>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl AuditFilter {
    /// Parses the browser's filter; the error names the field and the forms
    /// it accepts.
    pub fn parse(q: &AuditQuery) -> Result<AuditFilter, String> {
        let from_ms = q
            .from
            .as_deref()
            .map(|s| parse_time("from", s))
            .transpose()?
            .flatten();
        let to_ms =
            q.to.as_deref()
                .map(|s| parse_time("to", s))
                .transpose()?
                .flatten();
        Ok(AuditFilter {
            actor: q
                .actor
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            action: q.action.as_deref().and_then(TextMatch::parse),
            subject: q.subject.as_deref().and_then(TextMatch::parse),
            from_ms,
            to_ms,
        })
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (UTC), RFC 3339, or unix ms.
fn parse_time(field: &str, raw: &str) -> Result<Option<i64>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(Some(ms));
    }
    let to_ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(Some(to_ms(t)));
    }
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let day = format_description!("[year]-[month]-[day]");
    let naive = PrimitiveDateTime::parse(raw, seconds)
        .or_else(|_| PrimitiveDateTime::parse(raw, minutes))
        .or_else(|_| Date::parse(raw, day).map(|d| d.midnight()));
    match naive {
        Ok(t) => Ok(Some(to_ms(t.assume_utc()))),
        Err(_) => Err(format!(
            "{field}: {raw:?} is not a time; use YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or unix milliseconds"
        )),
    }
}

enum Arg {
    Text(String),
    Int(i64),
}

/// WHERE clause fragments and their arguments, numbered `$1…` in order.
struct Where {
    sql: String,
    args: Vec<Arg>,
    /// A text is matched: the statement is planned for its values each
    /// time. PostgreSQL's plan for any value, which it settles on after five
    /// runs of a kept statement, walks the trail backwards by `seq` hoping
    /// to meet the value soon (a tenth of a trail of ten actions matches
    /// any one): half a second for an action that is rare or absent among a
    /// million events, where the plan for the value reads its index.
    plan_each_time: bool,
}

impl Where {
    fn new() -> Self {
        Where {
            sql: String::from(" WHERE 1 = 1"),
            args: Vec::new(),
            plan_each_time: false,
        }
    }

    /// Appends ` AND {column} {op} $n`. `column` and `op` are fixed strings.
    fn and(&mut self, column: &'static str, op: &'static str, arg: Arg) {
        self.args.push(arg);
        self.sql
            .push_str(&format!(" AND {column} {op} ${}", self.args.len()));
    }

    fn text(&mut self, column: &'static str, m: &TextMatch) {
        self.plan_each_time = true;
        match m {
            TextMatch::Exact(v) => self.and(column, "=", Arg::Text(v.clone())),
            TextMatch::Prefix(p) => {
                // A byte-ordered range (C collation on both backends).
                self.and(column, ">=", Arg::Text(p.clone()));
                self.and(column, "<", Arg::Text(format!("{p}\u{10FFFF}")));
            }
        }
    }

    fn filter(filter: &AuditFilter) -> Self {
        let mut w = Where::new();
        if let Some(a) = &filter.actor {
            w.text("actor_name", &TextMatch::Exact(a.clone()));
        }
        if let Some(m) = &filter.action {
            w.text("action", m);
        }
        if let Some(m) = &filter.subject {
            w.text("subject", m);
        }
        if let Some(t) = filter.from_ms {
            w.and("at_ms", ">=", Arg::Int(t));
        }
        if let Some(t) = filter.to_ms {
            w.and("at_ms", "<", Arg::Int(t));
        }
        w
    }

    async fn fetch(
        self,
        store: &Store,
        tail: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let sql = format!("{COLUMNS}{}{tail} LIMIT {limit}", self.sql);
        self.run(store, &sql).await
    }

    /// Runs `sql` (fixed fragments and this clause) with the arguments.
    async fn run(self, store: &Store, sql: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let mut query = sqlx::query(sql).persistent(!self.plan_each_time);
        for arg in self.args {
            query = match arg {
                Arg::Text(s) => query.bind(s),
                Arg::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(store.pool()).await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }
}

const COLUMNS: &str = "SELECT seq, at_ms, actor_kind, actor_id, actor_name, action, subject, \
    details, client_addr, user_agent, prev_hash, hash FROM audit_events";

fn decode(row: &AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        seq: row.try_get(0)?,
        at_ms: row.try_get(1)?,
        actor_kind: row.try_get(2)?,
        actor_id: row.try_get(3)?,
        actor_name: row.try_get(4)?,
        action: row.try_get(5)?,
        subject: row.try_get(6)?,
        details: row.try_get(7)?,
        client_addr: row.try_get(8)?,
        user_agent: row.try_get(9)?,
        prev_hash: row.try_get(10)?,
        hash: row.try_get(11)?,
    })
}

/// Newest first, older than `before` when given; `limit + 1` are read so the
/// caller knows whether another page follows.
pub async fn newest_first(
    store: &Store,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEvent>, Option<i64>), StoreError> {
    let mut w = Where::filter(filter);
    if let Some(b) = before {
        w.and("seq", "<", Arg::Int(b));
    }
    let mut events = w.fetch(store, " ORDER BY seq DESC", limit + 1).await?;
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok((events, next))
}

/// The newest `limit` events whose action matches any of `actions`, newest
/// first, in one read (each match walks the action index on its own).
pub async fn newest_of_actions(
    store: &Store,
    actions: &[TextMatch],
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let mut w = Where::new();
    let mut parts = Vec::new();
    for (i, m) in actions.iter().enumerate() {
        w.sql = String::from(" WHERE 1 = 1");
        w.text("action", m);
        parts.push(format!(
            "SELECT * FROM ({COLUMNS}{} ORDER BY seq DESC LIMIT {limit}) AS a{i}",
            w.sql
        ));
    }
    let sql = format!(
        "{} ORDER BY seq DESC LIMIT {limit}",
        parts.join(" UNION ALL ")
    );
    w.run(store, &sql).await
}

/// Oldest first, after `after`: the export walks the filtered set with it.
pub async fn oldest_first(
    store: &Store,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut w = Where::filter(filter);
    w.and("seq", ">", Arg::Int(after));
    w.fetch(store, " ORDER BY seq", limit).await
}

/// The newest event's seq (0 while there is none).
pub async fn head_seq(store: &Store) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_events")
        .fetch_one(store.pool())
        .await
        .map_err(StoreError::Query)
}

/// The newest event about `subject` (its seq), if any.
pub async fn newest_about(
    conn: &mut sqlx::AnyConnection,
    subject: &str,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar("SELECT MAX(seq) FROM audit_events WHERE subject = $1")
        .bind(subject)
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::Query)
}

pub async fn one(store: &Store, seq: i64) -> Result<Option<AuditEvent>, StoreError> {
    let mut w = Where::new();
    w.and("seq", "=", Arg::Int(seq));
    Ok(w.fetch(store, "", 1).await?.pop())
}

/// Whether `subject` (`user:NAME`) signed in from `addr` since `since_ms`:
/// the sign-in throttle does not hold such an address back.
pub async fn signed_in_from(
    conn: &mut sqlx::AnyConnection,
    subject: &str,
    addr: &str,
    since_ms: i64,
) -> Result<bool, crate::db::StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events \
         WHERE subject = $1 AND action = 'auth.login' AND client_addr = $2 AND at_ms > $3",
    )
    .bind(subject)
    .bind(addr)
    .bind(since_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str) -> AuditQuery {
        AuditQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            ..Default::default()
        }
    }

    #[test]
    fn times_in_every_accepted_form() {
        let f = AuditFilter::parse(&q("2026-11-25", "2026-11-25T10:30")).unwrap();
        assert_eq!(f.from_ms, Some(1_795_564_800_000));
        assert_eq!(
            f.to_ms,
            Some(1_795_564_800_000 + 10 * 3_600_000 + 30 * 60_000)
        );
        let f = AuditFilter::parse(&q("2026-11-25T00:00:01Z", "1795651200000")).unwrap();
        assert_eq!(f.from_ms, Some(1_795_564_801_000));
        assert_eq!(f.to_ms, Some(1_795_651_200_000));
    }

    #[test]
    fn bad_times_name_the_field() {
        let e = AuditFilter::parse(&q("yesterday", "")).unwrap_err();
        assert!(e.starts_with("from: \"yesterday\" is not a time"), "{e}");
        // A range that ends before it starts is a valid, empty range.
        let f = AuditFilter::parse(&q("2026-11-26", "2026-11-25")).unwrap();
        assert!(f.from_ms > f.to_ms);
    }

    #[test]
    fn prefixes_and_blanks() {
        let f = AuditFilter::parse(&AuditQuery {
            actor: Some("  ".into()),
            action: Some("auth.*".into()),
            subject: Some("user:alice".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.actor, None);
        assert_eq!(f.action, Some(TextMatch::Prefix("auth.".into())));
        assert_eq!(f.subject, Some(TextMatch::Exact("user:alice".into())));
        let w = Where::filter(&f);
        assert_eq!(
            w.sql,
            " WHERE 1 = 1 AND action >= $1 AND action < $2 AND subject = $3"
        );
    }
}
