//! OFREP 0.3.0 on the wire (`service/openapi.yaml` of open-feature/protocol):
//! the request's context, and the bodies of a flag's evaluation, of the bulk
//! answer and of every failure. Pure: no store, no HTTP.
use serde_json::{json, Map, Value};

use crate::flags::bucketing::{evaluate, Reason};
use crate::flags::cache::Flag;

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

/// One flag evaluated for `targeting_key` in `environment`: the success
/// body (`key`, `value`, `variant`, `reason`, `metadata`), and its reason;
/// or why it cannot be (stored values that do not fit the flag's type).
pub fn evaluation(
    flag: &Flag,
    environment: &str,
    targeting_key: &str,
) -> Result<(Value, &'static str), String> {
    let rule = flag.rule(environment);
    let e = evaluate(&flag.record.key, &rule, targeting_key);
    let values = &flag.record.values;
    let (value, variant) = values.served(e.value);
    values.value_type.coerce(value).map_err(|why| {
        format!(
            "flag {:?} cannot be served: its stored value {why}; save plan {:?} again",
            flag.record.key, flag.plan_name
        )
    })?;
    let state = flag.record.state(environment);
    let mut metadata = Map::new();
    metadata.insert("plan".into(), json!(flag.plan_name));
    metadata.insert("planId".into(), json!(flag.plan_id));
    metadata.insert("environment".into(), json!(environment));
    if !state.set_by.is_empty() {
        metadata.insert("phase".into(), json!(state.set_by));
    }
    metadata.insert("exposureBp".into(), json!(rule.basis_points));
    metadata.insert("bucket".into(), json!(e.bucket));
    let reason = reason(e.reason);
    Ok((
        json!({
            "key": flag.record.key,
            "value": value,
            "variant": variant,
            "reason": reason,
            "metadata": Value::Object(metadata),
        }),
        reason,
    ))
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
    use crate::flags::store::{EnvState, FlagRecord};
    use crate::flags::values::{FlagValues, ValueType};

    fn flag(values: FlagValues, state: EnvState) -> Flag {
        Flag {
            record: FlagRecord {
                key: "checkout".into(),
                salt: "s".into(),
                values,
                states: [("production".to_string(), state)].into(),
            },
            plan_id: "p1".into(),
            plan_name: "Checkout".into(),
        }
    }

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
    fn an_evaluation_carries_value_variant_reason_and_the_phase_that_set_it() {
        let on = EnvState {
            enabled: true,
            exposure_bp: 10_000,
            set_by: "production 100%".into(),
            ..EnvState::default()
        };
        let values = FlagValues {
            value_type: ValueType::Float,
            on: json!(1.0),
            off: json!(0.0),
            on_variant: "full".into(),
            off_variant: "none".into(),
        };
        let (body, reason) =
            evaluation(&flag(values.clone(), on.clone()), "production", "org-1").unwrap();
        assert_eq!(reason, "SPLIT");
        assert_eq!(body["value"].to_string(), "1.0", "a float stays a float");
        assert_eq!(body["variant"], "full");
        assert_eq!(body["metadata"]["phase"], "production 100%");
        assert_eq!(body["metadata"]["exposureBp"], 10_000);
        assert_eq!(body["metadata"]["plan"], "Checkout");
        let (body, reason) =
            evaluation(&flag(values.clone(), EnvState::default()), "dev", "org-1").unwrap();
        assert_eq!((reason, &body["variant"]), ("DISABLED", &json!("none")));
        assert!(
            body["metadata"].get("phase").is_none(),
            "never set: no phase"
        );
        let broken = FlagValues {
            on: Value::Null,
            ..values
        };
        let why = evaluation(&flag(broken, on), "production", "org-1").unwrap_err();
        assert!(why.contains("null is not a float"), "{why}");
        assert_eq!(
            failure(Some("x"), ErrorCode::FlagNotFound, "no flag"),
            json!({"key": "x", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "no flag"})
        );
    }
}
