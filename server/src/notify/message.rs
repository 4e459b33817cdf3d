//! What a delivery says: one sentence a person reads at 3 AM, a link to the
//! exact place to act, and the audit event it announces. The body depends on
//! the event alone, so every attempt of a delivery sends the same bytes.
use app::dto::audit::AuditEvent;
use serde_json::{json, Value};

use crate::config::NotifyFormat;

/// What the message needs beside the event.
pub struct Context<'a> {
    /// The plan the event is about (its subject), if it still exists.
    pub plan_name: Option<&'a str>,
    /// The console's address as people reach it, without a trailing `/`.
    pub base_url: &'a str,
}

/// The event as a message: `(type, body)`.
pub fn body(format: NotifyFormat, e: &AuditEvent, cx: &Context) -> Vec<u8> {
    let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
    let plan_id = e.subject.strip_prefix("plan:");
    let link = link(cx.base_url, plan_id, &e.action, &details);
    let summary = summary(e, cx.plan_name.unwrap_or("a plan"), &details);
    let body = match format {
        NotifyFormat::Json => json!({
            "type": e.action,
            "timestamp": rfc3339(e.at_ms),
            "data": {
                "event": e.seq,
                "hash": e.hash,
                "action": e.action,
                "subject": e.subject,
                "actor": { "kind": e.actor_kind, "name": e.actor_name },
                "plan": plan_id.map(|id| json!({ "id": id, "name": cx.plan_name })),
                "summary": summary,
                "link": link,
                "to": asked(&details),
                "details": details,
            },
        }),
        NotifyFormat::Slack => slack(e, &summary, &link),
    };
    serde_json::to_vec(&body).expect("a JSON value serializes")
}

/// Who the event calls on: the people a request for approval asks, or an
/// incident's step pages (as recorded with it).
fn asked(details: &Value) -> Value {
    details
        .get("asked")
        .or_else(|| details.get("page"))
        .cloned()
        .unwrap_or(Value::Array(vec![]))
}

/// Where to act: a gate's focused approval view, a job's page, the plan.
fn link(base: &str, plan_id: Option<&str>, action: &str, details: &Value) -> String {
    let Some(plan) = plan_id else {
        return format!("{base}/audit");
    };
    let job = details.get("job").and_then(Value::as_str);
    let mut segments = vec!["plans", plan];
    let phase = details.get("phase_id").and_then(Value::as_str);
    match (action, action.split('.').next(), job, phase) {
        (_, Some("backfill"), Some(job), _) => segments.extend(["jobs", job]),
        // A request for approval: its focused approval view.
        ("gate.request", _, _, Some(phase)) => segments.extend(["approve", phase]),
        _ => {}
    }
    let Ok(mut url) = url::Url::parse(base) else {
        return format!("{base}/plans/{plan}");
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    if action.starts_with("incident.") {
        url.set_fragment(Some("oncall"));
    }
    url.to_string()
}

/// One sentence: who did what to which plan.
pub fn summary(e: &AuditEvent, plan: &str, d: &Value) -> String {
    let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let who = &e.actor_name;
    let phase = s("phase");
    match e.action.as_str() {
        "gate.request" => {
            let to = names(d);
            let from = if to.is_empty() {
                String::new()
            } else {
                format!(" from {}", to.join(", "))
            };
            format!(
                "{who} asks for approval of {phase:?} in {plan}: {} approval(s) needed{from}.",
                d.get("approvals_required")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            )
        }
        "gate.approve" => format!("{who} approved {phase:?} in {plan}."),
        "gate.reject" => format!("{who} rejected {phase:?} in {plan}."),
        "gate.override" => format!("{who} overrode the gate of {phase:?} in {plan}."),
        "gate.dismiss" | "gate.unready" => {
            format!("The approvals of {phase:?} in {plan} no longer count.")
        }
        "phase.start" => format!("{who} started {phase:?} in {plan}."),
        "guardrail.state" => format!(
            "Guardrail {} of {plan} in {} is now {} (was {}).",
            s("guardrail"),
            s("environment"),
            s("to"),
            d.get("from").and_then(Value::as_str).unwrap_or("unread")
        ),
        "guardrail.action" => {
            let dry = d.get("dry_run").and_then(Value::as_bool) == Some(true);
            let withheld = d.get("withheld").and_then(Value::as_str);
            let what = s("action");
            match (dry, withheld) {
                (true, _) => format!(
                    "Guardrail {} of {plan} in {} would {what} (dry run).",
                    s("guardrail"),
                    s("environment")
                ),
                (false, Some(why)) => format!(
                    "Guardrail {} of {plan} in {} asked to {what}; withheld: {why}.",
                    s("guardrail"),
                    s("environment")
                ),
                (false, None) => format!(
                    "Guardrail {} of {plan} in {} breached: the system acts ({what}).",
                    s("guardrail"),
                    s("environment")
                ),
            }
        }
        "plan.rollback.standard" => format!("{who} rolled {plan} back (standard rollback)."),
        "plan.rollback.emergency" => format!("{who} rolled {plan} back (emergency: flag off)."),
        "plan.pause" => format!("{who} paused {plan}."),
        "plan.abort" => format!("{who} aborted {plan}."),
        "plan.complete" => format!("{plan} is complete."),
        "backfill.fail" => format!("Backfill job {} of {plan} failed.", s("job")),
        "incident.open" => format!("Incident on {plan}: {}", s("summary")),
        "incident.page" => format!(
            "Paging {} (step {} of {}) for {plan}: {} Acknowledge it in the console.",
            to_names(d),
            d.get("step").and_then(Value::as_i64).unwrap_or(0),
            d.get("of").and_then(Value::as_i64).unwrap_or(0),
            s("summary")
        ),
        "incident.ack" => format!(
            "{who} acknowledged the incident on {plan} ({} step(s) had paged).",
            d.get("steps_paged").and_then(Value::as_i64).unwrap_or(0)
        ),
        "backfill.finish" => format!("Backfill job {} of {plan} finished.", s("job")),
        action => format!("{action} on {plan} by {who}."),
    }
}

/// The people an event calls on (`asked`, `page`), by username.
fn names(d: &Value) -> Vec<String> {
    asked(d)
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The people an event calls on, as one phrase.
fn to_names(d: &Value) -> String {
    let names = names(d);
    if names.is_empty() {
        "nobody (no one it names can sign in)".into()
    } else {
        names.join(", ")
    }
}

/// A Slack incoming-webhook message: the sentence, who and when, and a
/// button to where to act.
fn slack(e: &AuditEvent, summary: &str, link: &str) -> Value {
    let text = format!("{} <{}|Open in Rollout Console>", mrkdwn(summary), link);
    json!({
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": mrkdwn(summary) } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": mrkdwn(&format!(
                "{} · {} · audit event #{}", e.action, rfc3339(e.at_ms), e.seq
            )) } ] },
            { "type": "actions", "elements": [ {
                "type": "button",
                "text": { "type": "plain_text", "text": "Open in Rollout Console" },
                "url": link,
            } ] },
        ],
    })
}

/// Slack's three control characters, escaped as its docs say.
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, details: Value) -> AuditEvent {
        AuditEvent {
            seq: 42,
            at_ms: 1_765_000_000_000,
            actor_kind: "user".into(),
            actor_name: "olga".into(),
            action: action.into(),
            subject: "plan:p1".into(),
            details: details.to_string(),
            hash: "ab".repeat(32),
            actor_id: "u1".into(),
            client_addr: String::new(),
            user_agent: String::new(),
            prev_hash: String::new(),
        }
    }

    fn cx() -> Context<'static> {
        Context {
            plan_name: Some("STI <backfill>"),
            base_url: "https://rollout.example.com",
        }
    }

    #[test]
    fn a_request_names_who_it_asks_and_links_to_the_plan() {
        let e = event(
            "gate.request",
            json!({"phase": "production 5%", "phase_id": "ph1", "approvals_required": 2, "asked": ["dana", "erik"]}),
        );
        let b: Value = serde_json::from_slice(&body(NotifyFormat::Json, &e, &cx())).unwrap();
        assert_eq!(b["type"], "gate.request");
        assert_eq!(b["data"]["to"], json!(["dana", "erik"]));
        assert_eq!(
            b["data"]["link"],
            "https://rollout.example.com/plans/p1/approve/ph1"
        );
        assert_eq!(
            b["data"]["summary"],
            "olga asks for approval of \"production 5%\" in STI <backfill>: 2 approval(s) needed from dana, erik."
        );
        assert_eq!(b["timestamp"], "2025-12-06T05:46:40Z");
    }

    #[test]
    fn slack_escapes_its_control_characters_and_links_to_the_job() {
        let e = event("backfill.fail", json!({"job": "copy rows", "run": "r1"}));
        let b: Value = serde_json::from_slice(&body(NotifyFormat::Slack, &e, &cx())).unwrap();
        assert_eq!(
            b["text"],
            "Backfill job copy rows of STI &lt;backfill&gt; failed. <https://rollout.example.com/plans/p1/jobs/copy%20rows|Open in Rollout Console>"
        );
        assert_eq!(
            b["blocks"][2]["elements"][0]["url"],
            "https://rollout.example.com/plans/p1/jobs/copy%20rows"
        );
    }

    #[test]
    fn every_attempt_sends_the_same_bytes() {
        let e = event("plan.pause", json!({}));
        assert_eq!(
            body(NotifyFormat::Json, &e, &cx()),
            body(NotifyFormat::Json, &e, &cx())
        );
    }
}
