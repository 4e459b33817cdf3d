//! The audit trail over REST: list, one event, verification, and the export
//! of a filtered set as CSV or JSON lines, streamed in seq order.
use app::access::Action;
use app::dto::audit::{AuditEvent, AuditPage, AuditQuery, ChainReport};
use app::error::AppError;
use app::service::AuditPort;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream;

use super::query::{self, AuditFilter};
use super::AuditService;
use crate::api_error::ApiError;
use crate::caller::Call;
use crate::db::Store;

/// Rows read from the store per export batch.
const EXPORT_BATCH: i64 = 2_000;

/// What the audit endpoints need of the application's state.
#[derive(Clone)]
pub struct AuditApi {
    pub audit: AuditService,
    pub store: Store,
}

/// The routes; `http` gives them their state with `with_state`.
pub fn router() -> Router<AuditApi> {
    Router::new()
        .route("/api/v1/audit/events", get(list))
        .route("/api/v1/audit/events/{seq}", get(one))
        .route("/api/v1/audit/verify", get(verify))
        .route("/api/v1/audit/export", get(export))
}

#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400), (status = 401), (status = 403)))]
pub async fn list(
    Call(state, caller): Call<AuditApi>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(state.audit.page(&caller, q).await?))
}

#[utoipa::path(get, path = "/api/v1/audit/events/{seq}", tag = "audit",
    params(("seq" = i64, Path)), responses((status = 200, body = AuditEvent), (status = 404)))]
pub async fn one(
    Call(state, caller): Call<AuditApi>,
    Path(seq): Path<i64>,
) -> Result<Json<AuditEvent>, ApiError> {
    Ok(Json(state.audit.event(&caller, seq).await?))
}

/// Walks the whole hash chain now.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = ChainReport)))]
pub async fn verify(Call(state, caller): Call<AuditApi>) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(state.audit.verify_now(&caller).await?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            other => Err(format!(
                "format: {other:?} is not supported; use csv or jsonl"
            )),
        }
    }
}

/// The export's own parameter; the filter (`AuditQuery`) is read from the
/// same query string (not flattened into this: serde's flatten reads every
/// value as text, so `before=5` would be refused).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (default) or `jsonl`.
    #[param(pattern = "^(csv|jsonl|ndjson)$")]
    format: Option<String>,
}

/// The filtered events as CSV or JSON lines, streamed in seq order.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(ExportParams, AuditQuery),
    responses((status = 200, description = "the events, oldest first", content(
        (String = "text/csv"),
        (String = "application/x-ndjson"),
    )), (status = 400)))]
pub async fn export(
    Call(state, caller): Call<AuditApi>,
    Query(params): Query<ExportParams>,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    caller.require(Action::ReadAudit)?;
    let format =
        Format::parse(params.format.as_deref().unwrap_or("csv")).map_err(AppError::Invalid)?;
    let filter = AuditFilter::parse(&query).map_err(AppError::Invalid)?;
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::JsonLines => ("application/x-ndjson", "jsonl"),
    };
    let body = Body::from_stream(export_stream(state.store.clone(), filter, format));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-export.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The export as a stream of chunks, one per batch of rows, so memory stays
/// flat whatever the size of the set.
pub fn export_stream(
    store: crate::db::Store,
    filter: AuditFilter,
    format: Format,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    // State: the last seq written, and whether the header is still due.
    stream::try_unfold((0i64, true, false), move |(after, header, done)| {
        let store = store.clone();
        let filter = filter.clone();
        async move {
            if done {
                return Ok(None);
            }
            let events = query::oldest_first(&store, &filter, after, EXPORT_BATCH)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "audit export failed mid-stream");
                    std::io::Error::other("audit export failed")
                })?;
            let last = events.last().map(|e| e.seq);
            let finished = (events.len() as i64) < EXPORT_BATCH;
            let chunk = encode(&events, format, header)?;
            if chunk.is_empty() && finished {
                return Ok(None);
            }
            Ok(Some((
                Bytes::from(chunk),
                (last.unwrap_or(after), false, finished),
            )))
        }
    })
}

pub fn encode(
    events: &[AuditEvent],
    format: Format,
    header: bool,
) -> Result<Vec<u8>, std::io::Error> {
    match format {
        Format::JsonLines => {
            let mut out = Vec::with_capacity(events.len() * 400);
            for e in events {
                serde_json::to_writer(&mut out, &jsonl_record(e))?;
                out.push(b'\n');
            }
            Ok(out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::with_capacity(events.len() * 400));
            if header {
                w.write_record(CSV_HEADER)?;
            }
            for e in events {
                w.write_record([
                    e.seq.to_string(),
                    rfc3339_ms(e.at_ms),
                    e.actor_kind.clone(),
                    spreadsheet_safe(&e.actor_name),
                    e.actor_id.clone(),
                    spreadsheet_safe(&e.action),
                    spreadsheet_safe(&e.subject),
                    e.details.clone(),
                    e.client_addr.clone(),
                    spreadsheet_safe(&e.user_agent),
                    e.prev_hash.clone(),
                    e.hash.clone(),
                ])?;
            }
            w.into_inner().map_err(|e| e.into_error())
        }
    }
}

const CSV_HEADER: [&str; 12] = [
    "seq",
    "time",
    "actor_kind",
    "actor_name",
    "actor_id",
    "action",
    "subject",
    "details",
    "client_addr",
    "user_agent",
    "prev_hash",
    "hash",
];

/// The event with `details` as a JSON object (not a string) and a readable time.
fn jsonl_record(e: &AuditEvent) -> serde_json::Value {
    let details: serde_json::Value = serde_json::from_str(&e.details)
        .unwrap_or_else(|_| serde_json::Value::String(e.details.clone()));
    serde_json::json!({
        "seq": e.seq,
        "at_ms": e.at_ms,
        "time": rfc3339_ms(e.at_ms),
        "actor_kind": e.actor_kind,
        "actor_id": e.actor_id,
        "actor_name": e.actor_name,
        "action": e.action,
        "subject": e.subject,
        "details": details,
        "client_addr": e.client_addr,
        "user_agent": e.user_agent,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
}

/// Free text that a spreadsheet would run as a formula (a typed username such
/// as `=HYPERLINK(…)`) gets a leading `'`, as OWASP advises for CSV. The JSON
/// lines export keeps every value exactly as stored.
fn spreadsheet_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// `2026-11-25T10:30:00.123Z`: UTC, milliseconds, sortable as text.
fn rfc3339_ms(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, actor: &str) -> AuditEvent {
        AuditEvent {
            seq,
            at_ms: 1_795_564_800_123,
            actor_kind: "anonymous".into(),
            actor_id: String::new(),
            actor_name: actor.into(),
            action: "auth.login_failed".into(),
            subject: "user:x".into(),
            details: r#"{"reason":"bad, \"password\""}"#.into(),
            client_addr: "127.0.0.1".into(),
            user_agent: "curl/8".into(),
            prev_hash: "0".repeat(64),
            hash: "a".repeat(64),
        }
    }

    #[test]
    fn csv_quotes_fields_and_defuses_formulas() {
        let out =
            String::from_utf8(encode(&[event(1, "=cmd()")], Format::Csv, true).unwrap()).unwrap();
        let mut lines = out.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("seq,time,actor_kind,actor_name"));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("1,2026-11-25T00:00:00.123Z,anonymous,'=cmd(),"),
            "{row}"
        );
        assert!(
            row.contains(r#""{""reason"":""bad, \""password\""""}""#),
            "{row}"
        );
    }

    #[test]
    fn jsonl_is_one_object_per_line_with_details_as_object() {
        let out = String::from_utf8(
            encode(&[event(1, "a"), event(2, "=b")], Format::JsonLines, true).unwrap(),
        )
        .unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["actor_name"], "=b", "JSON lines keep values exact");
        assert_eq!(lines[0]["details"]["reason"], "bad, \"password\"");
        assert_eq!(lines[0]["time"], "2026-11-25T00:00:00.123Z");
    }

    #[test]
    fn formats_parse_strictly() {
        assert_eq!(Format::parse("jsonl"), Ok(Format::JsonLines));
        assert!(Format::parse("xml")
            .unwrap_err()
            .contains("use csv or jsonl"));
    }
}
