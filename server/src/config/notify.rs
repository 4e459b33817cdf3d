//! `[notify.NAME]`: where the console announces what happens (webhooks, a
//! Slack channel), and which of its audit events each endpoint hears.
use serde::{Deserialize, Serialize};

/// `[notify.NAME]`: `url_env = "VAR"` (or `url = "https://…"`), the events
/// it hears (`"gate.request"`, `"guardrail.*"`, `"*"`), its `format`, and
/// `secret_env`: the variable holding the key its deliveries are signed
/// with (Standard Webhooks: `whsec_` and base64, or any text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyEndpointConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    pub events: Vec<String>,
    #[serde(default)]
    pub format: NotifyFormat,
}

/// What a delivery's body is: the console's JSON event, or a Slack
/// incoming-webhook message with a link to where to act.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    #[default]
    Json,
    Slack,
}

/// The audit events an endpoint may hear: what happens to rollouts, never
/// sign-ins or account changes.
pub const NOTIFIABLE_EVENTS: &[&str] = &[
    "gate.request",
    "gate.approve",
    "gate.reject",
    "gate.override",
    "gate.dismiss",
    "gate.unready",
    "phase.start",
    "plan.create",
    "plan.import",
    "plan.activate",
    "plan.complete",
    "plan.pause",
    "plan.resume",
    "plan.continue",
    "plan.abort",
    "plan.rollback.standard",
    "plan.rollback.emergency",
    "plan.edit",
    "plan.change_request",
    "plan.change_approve",
    "plan.change_reject",
    "plan.change_override",
    "plan.change_withdraw",
    "plan.change_superseded",
    "guardrail.state",
    "guardrail.action",
    "guardrail.baseline",
    "backfill.start",
    "backfill.resume",
    "backfill.pause",
    "backfill.pause_request",
    "backfill.cancel",
    "backfill.cancel_request",
    "backfill.finish",
    "backfill.fail",
    "backfill.tune",
    "backfill.wait",
    "backfill.proceed",
    "backfill.override",
    "backfill.window_override",
    "flag.allow",
    "flag.deny",
    "flag.disallow",
    "flag.restore",
    "incident.open",
    "incident.page",
    "incident.ack",
];

/// `url` as an address deliveries can be posted to.
pub fn endpoint_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| format!("not a URL ({e})"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some() => Ok(parsed),
        _ => Err(format!("{}:// cannot be posted to", parsed.scheme())),
    }
}

/// Whether `pattern` (`gate.request`, `plan.rollback.*`, `*`) names `action`.
pub fn pattern_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => (prefix.is_empty() || prefix.ends_with('.')) && action.starts_with(prefix),
        None => pattern == action,
    }
}

/// Why `pattern` names no notifiable event, with the nearest that exist.
pub fn unknown_pattern(pattern: &str) -> Option<String> {
    if NOTIFIABLE_EVENTS
        .iter()
        .any(|e| pattern_matches(pattern, e))
    {
        return None;
    }
    let stem = pattern.trim_end_matches(['*', '.']);
    let family = stem.split('.').next().unwrap_or(stem);
    let near: Vec<&str> = NOTIFIABLE_EVENTS
        .iter()
        .copied()
        .filter(|e| e.starts_with(family) && (e.starts_with(stem) || stem.starts_with(*e)))
        .chain(
            NOTIFIABLE_EVENTS
                .iter()
                .copied()
                .filter(|e| e.split('.').next() == Some(family)),
        )
        .take(6)
        .collect();
    Some(if near.is_empty() {
        format!("{pattern:?} names no event; events are e.g. gate.request, guardrail.*, plan.rollback.*, backfill.fail (docs/notifications.md lists them)")
    } else {
        let mut near = near;
        near.dedup();
        format!(
            "{pattern:?} names no event; did you mean {}?",
            near.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_whole_segments() {
        assert!(pattern_matches("*", "gate.request"));
        assert!(pattern_matches(
            "plan.rollback.*",
            "plan.rollback.emergency"
        ));
        assert!(pattern_matches("gate.request", "gate.request"));
        assert!(!pattern_matches("gate.req*", "gate.request"));
        assert!(!pattern_matches("plan.rollback.*", "plan.resume"));
        assert!(!pattern_matches("gate", "gate.request"));
    }

    #[test]
    fn an_unknown_event_says_what_exists_nearby() {
        assert_eq!(unknown_pattern("guardrail.*"), None);
        let why = unknown_pattern("backfill.failed").unwrap();
        assert!(why.contains("backfill.fail"), "{why}");
        assert!(unknown_pattern("auth.login")
            .unwrap()
            .contains("names no event"));
        assert!(unknown_pattern("gate.req*").is_some());
    }
}
