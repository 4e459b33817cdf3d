//! Which settings can be used: each refusal says the setting, where it came
//! from, what is wrong and how to fix it.
use super::{ConfigError, Loaded};

pub(super) fn validate(loaded: &Loaded) -> Result<(), ConfigError> {
    loaded.listen_addr()?;
    crate::db::StoreUrl::parse(&loaded.config.database_url).map_err(|problem| {
        ConfigError::new(
            "database_url",
            &loaded.origin("database_url"),
            problem,
            crate::db::URL_HINT,
        )
    })?;
    tracing_subscriber::EnvFilter::try_new(&loaded.config.log_level).map_err(|e| {
        ConfigError::new(
            "log_level",
            &loaded.origin("log_level"),
            format!("{:?} is not a log filter: {e}", loaded.config.log_level),
            "use e.g. info, debug, or server=debug,tower_http=info",
        )
    })?;
    if let Some(raw) = &loaded.config.public_url {
        public_origin(raw).map_err(|problem| {
            ConfigError::new(
                "public_url",
                &loaded.origin("public_url"),
                problem,
                "use the scheme and host people type, e.g. https://rollout.example.com",
            )
        })?;
    }
    loaded.trusted_proxies()?;
    validate_environments(loaded)?;
    validate_ofrep(loaded)?;
    validate_notify(loaded)?;
    let timeouts = [
        (
            "session_idle_timeout_secs",
            loaded.config.session_idle_timeout_secs,
        ),
        (
            "session_absolute_timeout_secs",
            loaded.config.session_absolute_timeout_secs,
        ),
    ];
    for (key, value) in timeouts {
        if value == 0 {
            return Err(ConfigError::new(
                key,
                &loaded.origin(key),
                "0 would end every session at once",
                "use a number of seconds, e.g. 1800",
            ));
        }
    }
    Ok(())
}

fn validate_ofrep(loaded: &Loaded) -> Result<(), ConfigError> {
    let o = &loaded.config.ofrep;
    if o.requests_per_sec == 0 || o.burst == 0 {
        let key = if o.burst == 0 {
            "ofrep.burst"
        } else {
            "ofrep.requests_per_sec"
        };
        return Err(ConfigError::new(
            key,
            &loaded.origin("ofrep"),
            "0 would refuse every evaluation",
            "use a number of requests, e.g. requests_per_sec = 200 and burst = 400",
        ));
    }
    for origin in &o.cors_origins {
        if public_origin(origin).ok().as_deref() != Some(origin.trim_end_matches('/')) {
            return Err(ConfigError::new(
                "ofrep.cors_origins",
                &loaded.origin("ofrep"),
                format!("{origin:?} is not an origin"),
                "give scheme, host and port only, e.g. https://shop.example.com or http://localhost:5173",
            ));
        }
    }
    Ok(())
}

fn validate_notify(loaded: &Loaded) -> Result<(), ConfigError> {
    for (name, e) in &loaded.config.notify {
        let key = format!("notify.{name}");
        let fail = |field: &str, problem: String, hint: &str| {
            Err(ConfigError::new(
                &format!("{key}.{field}"),
                &loaded.origin(&key),
                problem,
                hint,
            ))
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return fail(
                "",
                format!("{name:?} is not an endpoint name"),
                "use letters, digits, - and _, e.g. [notify.ops-slack]",
            );
        }
        match (&e.url, &e.url_env) {
            (Some(_), Some(_)) | (None, None) => {
                return fail(
                    "url_env",
                    "give the endpoint's address once".into(),
                    "set url_env = \"VAR\" (the variable holds the URL, a secret for Slack) or url = \"https://…\"",
                )
            }
            (Some(url), None) => {
                if let Err(problem) = super::notify::endpoint_url(url) {
                    return fail("url", problem, "use an http:// or https:// address");
                }
            }
            (None, Some(_)) => {}
        }
        if e.events.is_empty() {
            return fail(
                "events",
                "no events: the endpoint would hear nothing".into(),
                "name them, e.g. events = [\"gate.request\", \"guardrail.*\", \"plan.rollback.*\"]",
            );
        }
        for pattern in &e.events {
            if let Some(problem) = super::notify::unknown_pattern(pattern) {
                return fail(
                    "events",
                    problem,
                    "see docs/notifications.md for every event",
                );
            }
        }
    }
    Ok(())
}

fn validate_environments(loaded: &Loaded) -> Result<(), ConfigError> {
    let envs = &loaded.config.environments;
    let fail = |key: &str, problem: String| {
        ConfigError::new(
            key,
            &loaded.origin(key),
            problem,
            "name environments with 1 to 40 of a-z, 0-9, - and _, e.g. environments = [\"dev\", \"staging\", \"production\"]",
        )
    };
    if envs.is_empty() {
        return Err(fail("environments", "no environment is named".into()));
    }
    for (i, e) in envs.iter().enumerate() {
        let ok = (1..=40).contains(&e.len())
            && e.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(fail(
                "environments",
                format!("{e:?} is not an environment name"),
            ));
        }
        if envs[..i].contains(e) {
            return Err(fail("environments", format!("{e:?} is named twice")));
        }
    }
    for (name, p) in &loaded.config.prometheus {
        let own = p
            .environments
            .iter()
            .map(|(env, server)| (format!("prometheus.{name}.environments.{env}"), &server.url));
        for (path, url) in std::iter::once((format!("prometheus.{name}"), &p.url)).chain(own) {
            let parsed = url::Url::parse(url.trim());
            if !parsed
                .as_ref()
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                return Err(ConfigError::new(
                    "prometheus",
                    &loaded.origin("prometheus"),
                    format!("{path}.url: {url:?} is not an http(s) URL"),
                    "give the server's base URL, e.g. [prometheus.app] url = \"http://127.0.0.1:9090\"",
                ));
            }
        }
        if let Some(e) = p.environments.keys().find(|e| !envs.contains(e)) {
            return Err(fail(
                "prometheus",
                format!(
                    "prometheus.{name}.environments.{e}: {e:?} is not one of {}",
                    envs.join(", ")
                ),
            ));
        }
    }
    for (name, t) in &loaded.config.targets {
        if let Some(e) = t.environment.as_ref().filter(|e| !envs.contains(e)) {
            return Err(fail(
                "targets",
                format!(
                    "targets.{name}.environment: {e:?} is not one of {}",
                    envs.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// `scheme://host[:port]` of a public URL, which must be http(s) without a path.
pub fn public_origin(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("{raw:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{raw:?} is not an http or https URL"));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!(
            "{raw:?} has a path or query; the console is served at the root"
        ));
    }
    Ok(url.origin().ascii_serialization())
}
