//! The demo application's flag, read the way any application reads it: an
//! OFREP evaluation (`POST /ofrep/v1/evaluate/flags/{key}`) for the entity
//! a request serves, with a `flags:read` token bound to the application's
//! environment. As an OpenFeature provider does, an evaluation that fails
//! gives the default value (the old code path) and says why.
use serde_json::{json, Value};

/// One OFREP flag, as this application reads it.
#[derive(Clone)]
pub struct OfrepFlag {
    client: reqwest::Client,
    url: String,
    token: String,
}

/// What an evaluation gave: the value, or the default and why.
pub enum Evaluated {
    Value(bool),
    Default(String),
}

impl Evaluated {
    pub fn on(&self) -> bool {
        matches!(self, Evaluated::Value(true))
    }
}

impl OfrepFlag {
    pub fn new(console: &str, key: &str, token: String) -> Result<OfrepFlag, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        Ok(OfrepFlag {
            client,
            url: format!(
                "{}/ofrep/v1/evaluate/flags/{key}",
                console.trim_end_matches('/')
            ),
            token,
        })
    }

    /// The flag for `entity` (OFREP's `targetingKey`).
    pub async fn evaluate(&self, entity: &str) -> Evaluated {
        let asked = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "context": { "targetingKey": entity } }))
            .send()
            .await;
        let response = match asked {
            Ok(r) => r,
            Err(e) => return Evaluated::Default(format!("the console did not answer: {e}")),
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match body.get("value").and_then(Value::as_bool) {
            Some(value) if status.is_success() => Evaluated::Value(value),
            _ => Evaluated::Default(format!(
                "OFREP answered {status}: {}",
                body.get("errorDetails")
                    .or_else(|| body.get("errorCode"))
                    .and_then(Value::as_str)
                    .unwrap_or("no value")
            )),
        }
    }
}
