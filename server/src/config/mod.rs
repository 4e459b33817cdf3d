//! Console settings: defaults → `console.toml` (or `--config FILE`) →
//! environment (`LEPTOS_SITE_ADDR`/`LEPTOS_SITE_ROOT`, `DATABASE_URL`,
//! `CONSOLE_*`). Every problem is reported as one line naming the setting,
//! where its value came from, and how to fix it.
mod notify;
mod prometheus;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
pub use validate::public_origin;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use notify::{
    endpoint_url as notify_endpoint_url, pattern_matches, NotifyEndpointConfig, NotifyFormat,
    NOTIFIABLE_EVENTS,
};
pub use prometheus::{PrometheusConfig, PrometheusServer};

/// The file read when `--config` / `CONSOLE_CONFIG` is not given; it may be absent.
pub const DEFAULT_CONFIG_FILE: &str = "console.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

const KNOWN_SETTINGS: [&str; 18] = [
    "listen",
    "database_url",
    "site_root",
    "log_format",
    "log_level",
    "public_url",
    "session_idle_timeout_secs",
    "session_absolute_timeout_secs",
    "trusted_proxies",
    "targets",
    "environments",
    "prometheus",
    "audit_anchor_dir",
    "http_header_timeout_secs",
    "http_request_timeout_secs",
    "http_max_connections",
    "ofrep",
    "notify",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds, `IP:PORT`.
    pub listen: String,
    /// `sqlite://PATH` (default `sqlite://data/console.db`) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// Directory holding the built site (`pkg/` with the wasm, js and css).
    pub site_root: String,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `server=debug,tower_http=info`.
    pub log_level: String,
    /// The address people use to reach the console, e.g.
    /// `https://rollout.example.com`. It is the one origin state-changing
    /// requests may come from, and `https` makes the session cookie
    /// `Secure` with the `__Host-` prefix. Unset: the request's own host, http.
    pub public_url: Option<String>,
    /// A session unused this long ends (server-side).
    pub session_idle_timeout_secs: u64,
    /// A session ends this long after sign-in, however busy.
    pub session_absolute_timeout_secs: u64,
    /// IP addresses of reverse proxies in front of the console. Only from
    /// these is `X-Forwarded-For` believed (for audit and sign-in throttling).
    pub trusted_proxies: Vec<String>,
    /// Databases backfill jobs run against, by name. Plan files name a
    /// target; its URL (a secret) lives here or in the environment.
    pub targets: BTreeMap<String, TargetConfig>,
    /// The environments phases roll out in, each with its own flag state
    /// (a phase changes only its own), in promotion order.
    pub environments: Vec<String>,
    /// Prometheus servers guardrails query, by name (`[prometheus.NAME]`).
    pub prometheus: BTreeMap<String, PrometheusConfig>,
    /// Where a PostgreSQL store's audit anchor is kept (a SQLite store's is
    /// beside its file). Relative: from this file's directory. Unset:
    /// `~/.local/share/rollout-console/audit-anchors`.
    #[serde(default)]
    pub audit_anchor_dir: Option<String>,
    /// A request's headers must arrive within this (HTTP/1), or the
    /// connection is closed.
    pub http_header_timeout_secs: u64,
    /// A request not answered within this gets a 408 (streams are not cut).
    pub http_request_timeout_secs: u64,
    /// At most this many connections are open at once (fewer if the
    /// open-file limit allows fewer); beyond it, new ones wait.
    pub http_max_connections: usize,
    /// Flag evaluation over OFREP (`[ofrep]`): rate limits and browser origins.
    #[serde(default)]
    pub ofrep: OfrepConfig,
    /// Where events are announced (`[notify.NAME]`): webhooks and Slack.
    #[serde(default)]
    pub notify: BTreeMap<String, NotifyEndpointConfig>,
}

/// `[ofrep]`: how OpenFeature clients may evaluate flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfrepConfig {
    /// Evaluation requests a token may make per second, sustained…
    pub requests_per_sec: u32,
    /// …and at once after a quiet spell. Beyond them: 429 with Retry-After.
    pub burst: u32,
    /// Origins of web pages whose browsers may evaluate flags (CORS), e.g.
    /// `https://shop.example.com`. None: only clients that are not browsers.
    pub cors_origins: Vec<String>,
}

impl Default for OfrepConfig {
    fn default() -> Self {
        OfrepConfig {
            requests_per_sec: 200,
            burst: 400,
            cors_origins: Vec::new(),
        }
    }
}

/// `[targets.NAME]`: `url = "postgres://…"`, or `url_env = "VAR"` to read the
/// URL from an environment variable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// A PostgreSQL target that connects as a superuser is refused unless
    /// this says so (and the UI then warns).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_superuser: bool,
    /// The environment whose data the target holds (one of `environments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["dev", "staging", "production"];

/// The demo target `demo seed` fills and the STI template's jobs run on.
pub const DEMO_TARGET_URL: &str = "sqlite://data/demo.db";

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:3000".into(),
            database_url: "sqlite://data/console.db".into(),
            site_root: "target/site".into(),
            log_format: LogFormat::Human,
            log_level: "info".into(),
            public_url: None,
            session_idle_timeout_secs: 30 * 60,
            session_absolute_timeout_secs: 12 * 60 * 60,
            trusted_proxies: Vec::new(),
            targets: BTreeMap::from([(
                "demo".to_string(),
                TargetConfig {
                    url: Some(DEMO_TARGET_URL.to_string()),
                    ..TargetConfig::default()
                },
            )]),
            environments: DEFAULT_ENVIRONMENTS.map(String::from).to_vec(),
            prometheus: BTreeMap::new(),
            audit_anchor_dir: None,
            http_header_timeout_secs: 10,
            http_request_timeout_secs: 60,
            http_max_connections: 1024,
            ofrep: OfrepConfig::default(),
            notify: BTreeMap::new(),
        }
    }
}

/// A setting that cannot be used. Displayed as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} (from {origin}): {problem}; {hint}")]
pub struct ConfigError {
    pub setting: String,
    pub origin: String,
    pub problem: String,
    pub hint: String,
}

impl ConfigError {
    pub fn new(
        setting: &str,
        origin: &str,
        problem: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ConfigError {
            setting: setting.into(),
            origin: origin.into(),
            problem: one_line(&problem.into()),
            hint: hint.into(),
        }
    }
}

/// The settings in force, and where each came from (for error messages).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    figment: Figment,
}

impl Loaded {
    /// Where `key` got its value: a file, an environment variable, or "default".
    pub fn origin(&self, key: &str) -> String {
        match self.figment.find_metadata(key) {
            Some(meta) => match &meta.source {
                Some(figment::Source::File(path)) => path.display().to_string(),
                _ if meta.name.contains("environment") => env_origin(key),
                _ => "default".to_string(),
            },
            None => "default".to_string(),
        }
    }

    pub fn trusted_proxies(&self) -> Result<Vec<std::net::IpAddr>, ConfigError> {
        self.config
            .trusted_proxies
            .iter()
            .map(|raw| {
                raw.trim().parse().map_err(|_| {
                    ConfigError::new(
                        "trusted_proxies",
                        &self.origin("trusted_proxies"),
                        format!("{raw:?} is not an IP address"),
                        "list the proxies' addresses, e.g. [\"10.0.0.5\"]",
                    )
                })
            })
            .collect()
    }

    /// `audit_anchor_dir` as a path that does not depend on the working
    /// directory: a relative one is taken from the configuration file's
    /// directory (from the working directory only when set without a file).
    pub fn anchor_dir(&self) -> Option<PathBuf> {
        let dir = PathBuf::from(self.config.audit_anchor_dir.as_deref()?);
        if dir.is_absolute() {
            return Some(dir);
        }
        let base = match self.figment.find_metadata("audit_anchor_dir") {
            Some(figment::Metadata {
                source: Some(figment::Source::File(file)),
                ..
            }) => file.parent().map(Path::to_path_buf).unwrap_or_default(),
            _ => PathBuf::new(),
        };
        let base = std::path::absolute(&base).unwrap_or(base);
        Some(base.join(dir))
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.config.listen.parse().map_err(|_| {
            ConfigError::new(
                "listen",
                &self.origin("listen"),
                format!("{:?} is not an IP:PORT address", self.config.listen),
                "use e.g. 127.0.0.1:3000 or 0.0.0.0:8080",
            )
        })
    }
}

/// Loads settings. `explicit` is the file named by `--config`/`CONSOLE_CONFIG`:
/// it must exist. Without it, `console.toml` in the working directory is read
/// when present.
pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    let file: Option<PathBuf> = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
    };
    if let Some(path) = file {
        let text = read_config_file(&path)?;
        check_toml_syntax(&path, &text)?;
        // Read again by the provider so its metadata names the file.
        figment = figment.merge(Toml::file(&path));
    }
    figment = figment
        .merge(
            Env::prefixed("LEPTOS_")
                .only(&["site_addr", "site_root"])
                .map(|k| {
                    if k == "site_addr" {
                        "listen".into()
                    } else {
                        k.into()
                    }
                }),
        )
        .merge(Env::raw().only(&["database_url"]))
        .merge(Env::prefixed("CONSOLE_").ignore(&["config"]));

    let config: Config = figment.extract().map_err(figment_error)?;
    let loaded = Loaded { config, figment };
    validate::validate(&loaded)?;
    Ok(loaded)
}

/// The environment variable that set `key`: the one with the highest
/// precedence among those present (figment does not keep the prefix).
fn env_origin(key: &str) -> String {
    let candidates = [
        Some(format!("CONSOLE_{}", key.to_ascii_uppercase())),
        (key == "database_url").then(|| "DATABASE_URL".to_string()),
        (key == "listen").then(|| "LEPTOS_SITE_ADDR".to_string()),
        (key == "site_root").then(|| "LEPTOS_SITE_ROOT".to_string()),
    ];
    let var = candidates
        .into_iter()
        .flatten()
        .find(|v| std::env::var_os(v).is_some())
        .unwrap_or_else(|| format!("CONSOLE_{}", key.to_ascii_uppercase()));
    format!("environment variable {var}")
}

fn read_config_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "config file",
            "--config / CONSOLE_CONFIG",
            format!("cannot read {}: {e}", path.display()),
            "check the path and its permissions, or unset CONSOLE_CONFIG to use defaults",
        )
    })
}

/// Reports a TOML syntax error as `FILE:LINE:COLUMN`.
fn check_toml_syntax(path: &Path, text: &str) -> Result<(), ConfigError> {
    match text.parse::<toml::Table>() {
        Ok(_) => Ok(()),
        Err(e) => {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            Err(ConfigError::new(
                "config file",
                &format!("{}:{line}:{col}", path.display()),
                format!("invalid TOML: {}", e.message()),
                "fix the syntax at that position",
            ))
        }
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn figment_error(err: figment::Error) -> ConfigError {
    let err = err
        .into_iter()
        .next()
        .expect("a figment error holds at least one error");
    let key = err.path.last().cloned().unwrap_or_else(|| "config".into());
    let origin = match &err.metadata {
        Some(meta) => match &meta.source {
            Some(figment::Source::File(p)) => p.display().to_string(),
            _ if meta.name.contains("environment") => env_origin(&key),
            _ => meta.name.to_string(),
        },
        None => "configuration".into(),
    };
    let hint = match err.kind {
        figment::error::Kind::UnknownField(_, _) => {
            format!("known settings are {}", KNOWN_SETTINGS.join(", "))
        }
        _ if key == "log_format" => "use \"human\" or \"json\"".to_string(),
        _ => "see README.md, section Configuration".to_string(),
    };
    ConfigError::new(&key, &origin, err.kind.to_string(), hint)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
// figment's Jail API returns its own (large) error type; nothing to box here.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn err_of(r: Result<Loaded, ConfigError>) -> ConfigError {
        r.expect_err("the settings should have been refused")
    }

    #[test]
    fn defaults_then_file_then_environment() {
        Jail::expect_with(|jail| {
            let loaded = load(None).unwrap();
            assert_eq!(loaded.config.listen, "127.0.0.1:3000");
            assert_eq!(loaded.origin("listen"), "default");

            jail.create_file(
                "console.toml",
                "listen = \"127.0.0.1:4000\"\nlog_format = \"json\"\n",
            )?;
            let loaded = load(None).unwrap();
            assert_eq!(loaded.config.listen, "127.0.0.1:4000");
            assert_eq!(loaded.config.log_format, LogFormat::Json);
            assert!(loaded.origin("listen").ends_with("console.toml"));

            jail.set_env("LEPTOS_SITE_ADDR", "127.0.0.1:4001");
            assert_eq!(load(None).unwrap().config.listen, "127.0.0.1:4001");
            jail.set_env("CONSOLE_LISTEN", "127.0.0.1:4002");
            let loaded = load(None).unwrap();
            assert_eq!(loaded.config.listen, "127.0.0.1:4002");
            assert_eq!(
                loaded.origin("listen"),
                "environment variable CONSOLE_LISTEN"
            );

            jail.set_env("DATABASE_URL", "postgres://u@db.example/console");
            assert_eq!(
                load(None).unwrap().config.database_url,
                "postgres://u@db.example/console"
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_setting_and_origin() {
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "mysql://root@localhost/x");
            let e = err_of(load(None));
            assert_eq!(e.setting, "database_url");
            assert_eq!(e.origin, "environment variable DATABASE_URL");
            assert!(e.problem.contains("mysql"), "{e}");
            jail.clear_env();

            jail.set_env("CONSOLE_LISTEN", "localhost");
            let e = err_of(load(None));
            assert_eq!(
                (e.setting.as_str(), e.origin.as_str()),
                ("listen", "environment variable CONSOLE_LISTEN")
            );
            jail.clear_env();

            jail.set_env("CONSOLE_LOG_FORMAT", "xml");
            let e = err_of(load(None));
            assert_eq!(e.setting, "log_format");
            assert!(e.to_string().contains("human"), "{e}");
            jail.clear_env();

            jail.create_file("console.toml", "lissen = \"x\"\n")?;
            let e = err_of(load(None));
            assert!(e.problem.contains("lissen"), "{e}");
            assert!(e.hint.contains("listen"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn syntax_error_gives_file_line_column_on_one_line() {
        Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "listen = \"127.0.0.1:3000\"\nlog_level = = 3\n")?;
            let e = err_of(load(Some(Path::new("bad.toml"))));
            assert_eq!(e.origin, "bad.toml:2:13");
            assert!(!e.to_string().contains('\n'));
            Ok(())
        });
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        Jail::expect_with(|_jail| {
            let e = err_of(load(Some(Path::new("nope.toml"))));
            assert_eq!(e.setting, "config file");
            assert!(e.problem.contains("nope.toml"));
            Ok(())
        });
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
