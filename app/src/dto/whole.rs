//! Whole numbers in request bodies, as JSON Schema counts them: `5` and
//! `5.0` are the same integer. An optional field may be left out, not
//! sent as `null` (the documented schema does not allow it).
use serde::de::{self, Deserializer, Visitor};

/// For `#[serde(default, deserialize_with = "…")]` on an `Option<i64>`.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Whole).map(Some)
}

struct Whole;

impl Visitor<'_> for Whole {
    type Value = i64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a whole number (leave the field out for none)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // Exactly representable whole numbers only (|v| < 2^53).
        if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            Ok(v as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    struct T {
        #[serde(default, deserialize_with = "super::optional")]
        n: Option<i64>,
    }

    fn parse(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<T>(json)
            .map(|t| t.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_in_any_spelling_and_nothing_else() {
        assert_eq!(parse(r#"{"n": 5}"#), Ok(Some(5)));
        assert_eq!(parse(r#"{"n": 26990391.0}"#), Ok(Some(26_990_391)));
        assert_eq!(parse(r#"{}"#), Ok(None));
        assert!(parse(r#"{"n": 1.5}"#).unwrap_err().contains("whole number"));
        assert!(parse(r#"{"n": null}"#)
            .unwrap_err()
            .contains("whole number"));
        assert!(parse(r#"{"n": "5"}"#).unwrap_err().contains("whole number"));
        assert!(parse(r#"{"n": 18446744073709551615}"#).is_err());
    }
}
