//! An endpoint as deliveries use it: its address and key read from the
//! environment once, at start-up, so a missing variable stops the console
//! with the setting's name instead of losing notifications later.
use crate::config::{pattern_matches, NotifyEndpointConfig, NotifyFormat, NOTIFIABLE_EVENTS};

use super::sign::Secret;

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub url: url::Url,
    pub secret: Option<Secret>,
    pub events: Vec<String>,
    pub format: NotifyFormat,
}

impl Endpoint {
    /// `[notify.NAME]` with its variables read through `var`.
    pub fn resolve(
        name: &str,
        cfg: &NotifyEndpointConfig,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Endpoint, String> {
        let url = match (&cfg.url, &cfg.url_env) {
            (Some(url), _) => url.clone(),
            (None, Some(v)) => var(v).filter(|u| !u.trim().is_empty()).ok_or_else(|| {
                format!("notify.{name}.url_env: the environment variable {v} is not set; set it to the endpoint's URL")
            })?,
            (None, None) => return Err(format!("notify.{name}: give url_env or url")),
        };
        let url = crate::config::notify_endpoint_url(&url)
            .map_err(|p| format!("notify.{name}: the endpoint's URL is {p}"))?;
        let secret = match &cfg.secret_env {
            None => None,
            Some(v) => {
                let text = var(v).ok_or_else(|| {
                    format!("notify.{name}.secret_env: the environment variable {v} is not set; set it to the signing secret (whsec_…)")
                })?;
                Some(
                    Secret::parse(&text)
                        .map_err(|p| format!("notify.{name}.secret_env ({v}): {p}"))?,
                )
            }
        };
        if secret.is_none() && cfg.format == NotifyFormat::Json {
            return Err(format!(
                "notify.{name}: a json endpoint needs secret_env, so its receiver can tell the console's deliveries from anyone's"
            ));
        }
        Ok(Endpoint {
            name: name.to_string(),
            url,
            secret,
            events: cfg.events.clone(),
            format: cfg.format,
        })
    }

    /// Whether the endpoint announces `action`: a rollout's event (never a
    /// sign-in or an account change, whatever the pattern) that it names.
    pub fn hears(&self, action: &str) -> bool {
        NOTIFIABLE_EVENTS.contains(&action)
            && self.events.iter().any(|p| pattern_matches(p, action))
    }

    /// What the delivery log shows of the address: scheme and host only (a
    /// Slack webhook's path is its secret).
    pub fn shown_address(&self) -> String {
        format!(
            "{}://{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or_default()
        ) + &self.url.port().map(|p| format!(":{p}")).unwrap_or_default()
    }
}
