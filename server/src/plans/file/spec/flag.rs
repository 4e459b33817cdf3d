//! `[flag]`: what the plan's flag serves. Without it the flag is a boolean
//! (on = true, off = false); with it a string, integer, float or object,
//! each with the value and variant name of on and off:
//!
//! ```toml
//! [flag]
//! type = "string"
//! on = "partitioned"
//! off = "legacy"
//! on_variant = "partitioned"   # default "on"
//! off_variant = "legacy"       # default "off"
//! ```
use serde::Deserialize;
use toml::Spanned;

use crate::flags::values::{FlagValues, ValueType};
use crate::problems::Report;

/// The longest variant name.
const MAX_VARIANT: usize = 64;
/// The most a value may weigh as JSON (it goes out with every evaluation).
const MAX_VALUE_BYTES: usize = 4_096;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagSpec {
    #[serde(rename = "type")]
    pub value_type: Spanned<String>,
    pub on: Spanned<toml::Value>,
    pub off: Spanned<toml::Value>,
    #[serde(default)]
    pub on_variant: Option<Spanned<String>>,
    #[serde(default)]
    pub off_variant: Option<Spanned<String>>,
}

/// A TOML value as JSON (dates become their text).
fn json_of(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
    }
}

pub fn check(r: &mut Report<'_>, f: &FlagSpec) {
    let Some(t) = ValueType::parse(f.value_type.get_ref()) else {
        r.at(
            f.value_type.span(),
            "flag.type".into(),
            format!(
                "{:?} is not a flag type; use one of {}",
                f.value_type.get_ref(),
                ValueType::ALL.map(ValueType::as_str).join(", ")
            ),
        );
        return;
    };
    for (name, v) in [("on", &f.on), ("off", &f.off)] {
        let json = json_of(v.get_ref());
        if let Err(e) = t.coerce(&json) {
            r.at(
                v.span(),
                format!("flag.{name}"),
                format!("{e}; flag.type is {}", t.as_str()),
            );
        } else if json.to_string().len() > MAX_VALUE_BYTES {
            r.at(
                v.span(),
                format!("flag.{name}"),
                format!("at most {MAX_VALUE_BYTES} bytes as JSON"),
            );
        }
    }
    let (on, off) = (variant(&f.on_variant, "on"), variant(&f.off_variant, "off"));
    for (name, v) in [
        ("on_variant", &f.on_variant),
        ("off_variant", &f.off_variant),
    ] {
        if let Some(v) = v {
            let s = v.get_ref();
            if s.trim().is_empty()
                || s.chars().count() > MAX_VARIANT
                || s.chars().any(char::is_control)
            {
                r.at(
                    v.span(),
                    format!("flag.{name}"),
                    format!("{s:?}: a variant name is 1 to {MAX_VARIANT} characters, none of them control characters"),
                );
            }
        }
    }
    if on == off {
        let span = f.off_variant.as_ref().map_or(f.off.span(), Spanned::span);
        r.at(
            span,
            "flag.off_variant".into(),
            format!("{off:?} names on as well; give on and off different variant names"),
        );
    }
}

fn variant(v: &Option<Spanned<String>>, default: &str) -> String {
    v.as_ref()
        .map_or(default.to_string(), |s| s.get_ref().trim().to_string())
}

/// The values a checked `[flag]` gives, or a boolean's without one.
pub fn values(f: Option<&FlagSpec>) -> FlagValues {
    let Some(f) = f else {
        return FlagValues::default();
    };
    let t = ValueType::parse(f.value_type.get_ref()).unwrap_or_default();
    let value = |v: &Spanned<toml::Value>| t.coerce(&json_of(v.get_ref())).unwrap_or_default();
    FlagValues {
        value_type: t,
        on: value(&f.on),
        off: value(&f.off),
        on_variant: variant(&f.on_variant, "on"),
        off_variant: variant(&f.off_variant, "off"),
    }
}

#[cfg(test)]
mod tests {
    use crate::plans::file::definition::parse;
    use serde_json::json;

    const HEAD: &str = "[plan]\nname = \"n\"\nflag = \"f\"\n\n[[phases]]\nname = \"dev\"\nenvironment = \"dev\"\nexposure_bp = 100\n\n";

    #[test]
    fn a_typed_flag_serves_its_values_and_a_plain_one_true_and_false() {
        let plain = parse(HEAD).unwrap();
        assert_eq!(plain.flag.served(true), (&json!(true), "on"));
        let typed = parse(&format!(
            "{HEAD}[flag]\ntype = \"float\"\non = 1\noff = 0.5\non_variant = \"full\"\n"
        ))
        .unwrap();
        assert_eq!(typed.flag.on.to_string(), "1.0");
        assert_eq!(typed.flag.served(false), (&json!(0.5), "off"));
        assert_eq!(typed.flag.on_variant, "full");
        let object = parse(&format!(
            "{HEAD}[flag]\ntype = \"object\"\non = {{ columns = 3, theme = \"dark\" }}\noff = {{}}\n"
        ))
        .unwrap();
        assert_eq!(object.flag.on, json!({"columns": 3, "theme": "dark"}));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_with_its_line() {
        let err = parse(&format!(
            "{HEAD}[flag]\ntype = \"integer\"\non = \"three\"\noff = 0\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("12:6: flag.on: \"three\" is not an integer; flag.type is integer"),
            "{err}"
        );
        let err = parse(&format!(
            "{HEAD}[flag]\ntype = \"number\"\non = 1\noff = 0\n"
        ))
        .unwrap_err();
        assert!(err.contains("flag.type: \"number\" is not a flag type; use one of boolean, string, integer, float, object"), "{err}");
        let err = parse(&format!(
            "{HEAD}[flag]\ntype = \"string\"\non = \"a\"\noff = \"b\"\non_variant = \"x\"\noff_variant = \"x\"\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("flag.off_variant: \"x\" names on as well"),
            "{err}"
        );
    }
}
