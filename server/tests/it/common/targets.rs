//! Target databases in a test's configuration.
use std::collections::BTreeMap;

use server::config::TargetConfig;

/// A target at `url`, bound to `environment` if given. Test databases
/// connect as the `postgres` superuser, which the console refuses unless
/// `allow_superuser` says otherwise.
pub fn config(url: &str, environment: Option<&str>, allow_superuser: bool) -> TargetConfig {
    TargetConfig {
        url: Some(url.to_string()),
        url_env: None,
        allow_superuser,
        environment: environment.map(str::to_string),
    }
}

/// A configuration's targets: `name` alone, as `config` makes it.
pub fn one(
    name: &str,
    url: &str,
    environment: Option<&str>,
    allow_superuser: bool,
) -> BTreeMap<String, TargetConfig> {
    BTreeMap::from([(name.to_string(), config(url, environment, allow_superuser))])
}
