//! What a flag serves: a boolean by default, or a string, integer, float or
//! object with its own value and variant name for "on" and "off" (a plan
//! file's `[flag]`). Evaluation decides on or off (`bucketing`); this says
//! what that means to the application.
use serde_json::Value;

/// The type of a flag's values, as OFREP clients ask for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueType {
    #[default]
    Boolean,
    String,
    Integer,
    Float,
    Object,
}

impl ValueType {
    pub const ALL: [ValueType; 5] = [
        ValueType::Boolean,
        ValueType::String,
        ValueType::Integer,
        ValueType::Float,
        ValueType::Object,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Boolean => "boolean",
            ValueType::String => "string",
            ValueType::Integer => "integer",
            ValueType::Float => "float",
            ValueType::Object => "object",
        }
    }

    pub fn parse(s: &str) -> Option<ValueType> {
        ValueType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// `value` as this type, or why it is not one. An integer is a float
    /// too (`1` is served as `1.0`), nothing else converts.
    pub fn coerce(self, value: &Value) -> Result<Value, String> {
        let fits = match self {
            ValueType::Boolean => value.is_boolean(),
            ValueType::String => value.is_string(),
            ValueType::Integer => value.is_i64(),
            ValueType::Float => value.is_number(),
            ValueType::Object => value.is_object(),
        };
        if !fits {
            return Err(format!(
                "{value} is not a{} {}",
                article(self),
                self.as_str()
            ));
        }
        Ok(match (self, value.as_f64()) {
            // Sent as a JSON float (`1.0`), which typed clients require.
            (ValueType::Float, Some(f)) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| format!("{value} is not a finite float"))?,
            _ => value.clone(),
        })
    }
}

fn article(t: ValueType) -> &'static str {
    if matches!(t, ValueType::Integer | ValueType::Object) {
        "n"
    } else {
        ""
    }
}

/// A flag's values: what an entity that evaluates on, and off, is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValues {
    pub value_type: ValueType,
    pub on: Value,
    pub off: Value,
    pub on_variant: String,
    pub off_variant: String,
}

impl Default for FlagValues {
    fn default() -> Self {
        FlagValues {
            value_type: ValueType::Boolean,
            on: Value::Bool(true),
            off: Value::Bool(false),
            on_variant: "on".into(),
            off_variant: "off".into(),
        }
    }
}

impl FlagValues {
    /// The value and variant for an entity that evaluated `on`.
    pub fn served(&self, on: bool) -> (&Value, &str) {
        if on {
            (&self.on, &self.on_variant)
        } else {
            (&self.off, &self.off_variant)
        }
    }

    /// One line for the audit trail and the plan page.
    pub fn describe(&self) -> String {
        format!(
            "{}: on = {} ({}), off = {} ({})",
            self.value_type.as_str(),
            self.on,
            self.on_variant,
            self.off,
            self.off_variant
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_checked_against_their_type_and_floats_are_sent_as_floats() {
        assert_eq!(
            ValueType::Float.coerce(&json!(1)).unwrap().to_string(),
            "1.0"
        );
        assert_eq!(ValueType::Float.coerce(&json!(0.25)).unwrap(), json!(0.25));
        assert_eq!(ValueType::Integer.coerce(&json!(3)).unwrap(), json!(3));
        assert_eq!(
            ValueType::Integer.coerce(&json!(1.5)).unwrap_err(),
            "1.5 is not an integer"
        );
        assert_eq!(
            ValueType::String.coerce(&json!(true)).unwrap_err(),
            "true is not a string"
        );
        assert!(ValueType::Object.coerce(&json!({"a": 1})).is_ok());
        assert!(ValueType::Object.coerce(&json!([1])).is_err());
        assert_eq!(ValueType::parse("float"), Some(ValueType::Float));
        assert_eq!(ValueType::parse("number"), None);
    }

    #[test]
    fn a_boolean_flag_serves_true_and_false() {
        let v = FlagValues::default();
        assert_eq!(v.served(true), (&json!(true), "on"));
        assert_eq!(v.served(false), (&json!(false), "off"));
    }
}
