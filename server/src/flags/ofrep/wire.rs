//! OFREP 0.3.0 on the wire (`service/openapi.yaml` of open-feature/protocol):
//! the request's context, the reasons, and the bodies of every failure
//! (`answers` writes the successes). Pure: no store, no HTTP.
use serde_json::{json, Value};

use crate::flags::bucketing::Reason;

/// The longest targeting key (as the evaluate endpoint's entity).
pub const MAX_TARGETING_KEY: usize = 256;

/// The OFREP error codes this server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ParseError,
    TargetingKeyMissing,
    InvalidContext,
    FlagNotFound,
    General,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::General => "GENERAL",
        }
    }
}

/// A refusal of the request as a whole, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub details: String,
}

fn refuse(code: ErrorCode, details: impl Into<String>) -> Refusal {
    Refusal {
        code,
        details: details.into(),
    }
}

/// What a request asks: whom to evaluate for, and (for a token bound to no
/// environment) where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub targeting_key: String,
    pub environment: Option<String>,
}

/// Reads `{"context": {"targetingKey": "…", …}}`. Attributes other than
/// `targetingKey` and `environment` are accepted and not used: a flag here
/// targets by entity only.
pub fn context(body: &[u8]) -> Result<Context, Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        refuse(
            ErrorCode::ParseError,
            format!(
                "the body is not JSON ({e}); send {{\"context\": {{\"targetingKey\": \"…\"}}}}"
            ),
        )
    })?;
    let context = value
        .get("context")
        .ok_or_else(|| {
            refuse(
                ErrorCode::InvalidContext,
                "context: missing; send {\"context\": {\"targetingKey\": \"…\"}}",
            )
        })?
        .as_object()
        .ok_or_else(|| refuse(ErrorCode::InvalidContext, "context: must be an object"))?;
    let key = match context.get("targetingKey") {
        None | Some(Value::Null) => {
            return Err(refuse(
                ErrorCode::TargetingKeyMissing,
                "context.targetingKey: missing; give the id of the entity (e.g. the organisation) the flags are evaluated for",
            ))
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(refuse(
                ErrorCode::InvalidContext,
                format!("context.targetingKey: {other} is not a string"),
            ))
        }
    };
    if key.is_empty() || key.chars().count() > MAX_TARGETING_KEY {
        return Err(refuse(
            if key.is_empty() {
                ErrorCode::TargetingKeyMissing
            } else {
                ErrorCode::InvalidContext
            },
            format!("context.targetingKey: 1 to {MAX_TARGETING_KEY} characters"),
        ));
    }
    let environment = match context.get("environment") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(refuse(
                ErrorCode::InvalidContext,
                format!("context.environment: {other} is not a string"),
            ))
        }
    };
    Ok(Context {
        targeting_key: key,
        environment,
    })
}

/// The OFREP reason for how `bucketing` decided.
pub fn reason(r: Reason) -> &'static str {
    match r {
        Reason::Disabled => "DISABLED",
        // On a list: the entity itself was targeted.
        Reason::Denied | Reason::Allowed => "TARGETING_MATCH",
        Reason::Split => "SPLIT",
    }
}

/// The body of a failure: `key` for one flag's, none for the request's.
pub fn failure(key: Option<&str>, code: ErrorCode, details: &str) -> Value {
    let mut body = json!({ "errorCode": code.as_str(), "errorDetails": details });
    if let Some(key) = key {
        body["key"] = json!(key);
    }
    body
}

/// The body of a refusal that is not about the evaluation (401, 403, 429, 500).
pub fn general(details: &str) -> Value {
    json!({ "errorDetails": details })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_needs_a_targeting_key_and_says_which_code() {
        let code = |body: &str| context(body.as_bytes()).unwrap_err().code;
        assert_eq!(code("not json"), ErrorCode::ParseError);
        assert_eq!(code("{}"), ErrorCode::InvalidContext);
        assert_eq!(code("{\"context\": 3}"), ErrorCode::InvalidContext);
        assert_eq!(code("{\"context\": {}}"), ErrorCode::TargetingKeyMissing);
        assert_eq!(
            code("{\"context\": {\"targetingKey\": \"\"}}"),
            ErrorCode::TargetingKeyMissing
        );
        assert_eq!(
            code("{\"context\": {\"targetingKey\": 7}}"),
            ErrorCode::InvalidContext
        );
        let long = format!(
            "{{\"context\": {{\"targetingKey\": \"{}\"}}}}",
            "x".repeat(257)
        );
        assert_eq!(code(&long), ErrorCode::InvalidContext);
        let ok = context(b"{\"context\": {\"targetingKey\": \"org-1\", \"environment\": \"dev\", \"plan\": \"gold\"}}").unwrap();
        assert_eq!(ok.targeting_key, "org-1");
        assert_eq!(ok.environment.as_deref(), Some("dev"));
    }

    #[test]
    fn a_failure_names_its_flag_when_it_has_one() {
        assert_eq!(
            failure(Some("x"), ErrorCode::FlagNotFound, "no flag"),
            json!({"key": "x", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "no flag"})
        );
        assert_eq!(failure(None, ErrorCode::General, "d").get("key"), None);
    }
}
