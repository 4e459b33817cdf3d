//! Reading a guardrail's source: an instant PromQL query against a
//! configured Prometheus (one series expected), one read-only statement
//! on a target (one row, one number), or a built-in health signal of a
//! PostgreSQL target (`backfill::health`), for the phase's environment: its own
//! Prometheus server if it has one, its name in the query's
//! `{{environment}}` (`plans::guardrail::environment`). A source that does
//! not answer, answers with an error, or cannot tell the environment's
//! metrics from another's is an error reading; what it returns is judged
//! by `plans::guardrail::judge`.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::backfill::health::Health;
use crate::backfill::sandbox::Access;
use crate::backfill::signal::Signal;
use crate::backfill::target::{self, Target};
use crate::config::{PrometheusConfig, TargetConfig};
use crate::plans::guardrail::environment::{self, Reads};
use crate::plans::guardrail::{Reading, Source};

#[derive(Clone)]
pub struct Sources {
    prometheus: Arc<BTreeMap<String, PrometheusConfig>>,
    /// The last environment (production): one a shared server may judge.
    production: Arc<str>,
    targets: Arc<BTreeMap<String, TargetConfig>>,
    http: reqwest::Client,
    /// Targets connected once and kept (a reading every few seconds).
    connected: Arc<Mutex<HashMap<String, Target>>>,
    /// The stored ids of resolved sources and queries (`guardrail_sources`),
    /// once committed.
    ids: Arc<std::sync::Mutex<HashMap<(String, String), i64>>>,
    /// The built-in health signals' previous counter totals.
    health: Arc<Health>,
    /// PromQL readings ask for the value at the process's time
    /// (`system::now_ms`, which only `demo history` sets back) rather than
    /// Prometheus's now: the story's readings are the metrics of its times.
    story_time: bool,
}

/// A PromQL query asked for one environment.
struct Asked<'a> {
    server: &'a str,
    query: &'a str,
    shared: bool,
    environment: &'a str,
    /// Its mean over this window (a baseline).
    window_ms: Option<i64>,
}

impl Sources {
    pub fn new(
        prometheus: BTreeMap<String, PrometheusConfig>,
        targets: BTreeMap<String, TargetConfig>,
        environments: &[String],
    ) -> Sources {
        Sources {
            prometheus: Arc::new(prometheus),
            production: environments.last().map_or("", String::as_str).into(),
            targets: Arc::new(targets),
            http: reqwest::Client::new(),
            connected: Arc::default(),
            ids: Arc::default(),
            health: Arc::default(),
            story_time: false,
        }
    }

    /// These sources reading PromQL at the story's time (`demo history`).
    pub fn at_story_time(mut self) -> Sources {
        self.story_time = true;
        self
    }

    /// Where a reading of `source` (with `sample`, its sample query) for
    /// `environment` comes from, and the exact queries it runs: what each
    /// reading records. A URL's user and password are left out.
    pub fn resolved(
        &self,
        source: &Source,
        sample: Option<&str>,
        environment: &str,
    ) -> (String, String) {
        let (from, query, sample) = match source {
            Source::Prometheus { server, query, .. } => {
                let from = match self.prometheus.get(server) {
                    Some(cfg) => match cfg.for_environment(environment) {
                        (url, _, true) => {
                            format!(
                                "prometheus {server}: {environment}'s own server, {}",
                                shown(url)
                            )
                        }
                        (url, _, false) => format!("prometheus {server}, {}", shown(url)),
                    },
                    None => format!("prometheus {server} (not configured)"),
                };
                let sample = sample.map(|q| environment::query_for(q, environment));
                (from, environment::query_for(query, environment), sample)
            }
            Source::Sql { target, sql } => (
                format!("target {target}"),
                sql.clone(),
                sample.map(str::to_string),
            ),
            Source::Health { target, signal } => (
                format!("target {target}: built-in health signal {signal}"),
                Signal::parse(signal).map_or(String::new(), |s| s.sql().to_string()),
                None,
            ),
        };
        match sample {
            Some(sample) => (from, format!("{query}\nsample: {sample}")),
            None => (from, query),
        }
    }

    /// The stored id of a resolved source and query, if known.
    pub fn known_id(&self, from: &str, query: &str) -> Option<i64> {
        let ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.get(&(from.to_string(), query.to_string())).copied()
    }

    /// Remembers a committed id.
    pub fn remember_id(&self, from: String, query: String, id: i64) {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() >= 4096 {
            ids.clear();
        }
        ids.insert((from, query), id);
    }

    /// Reads `source` (or, with `query`, that query on the same source: the
    /// sample) for a phase in `environment`. A source that has not answered
    /// by `deadline` gives an error reading (a SQL statement is stopped on
    /// PostgreSQL by its `statement_timeout`, set to the same deadline).
    pub async fn read(
        &self,
        source: &Source,
        query: Option<&str>,
        environment: &str,
        deadline: Duration,
    ) -> Reading {
        let reading = async {
            match source {
                Source::Prometheus {
                    server,
                    query: q,
                    shared,
                } => {
                    let asked = Asked {
                        server,
                        query: query.unwrap_or(q),
                        shared: *shared,
                        environment,
                        window_ms: None,
                    };
                    let at = self.story_time.then(crate::system::now_ms);
                    self.promql(&asked, at).await
                }
                Source::Sql { target, sql } => {
                    self.sql(target, query.unwrap_or(sql), environment, deadline)
                        .await
                }
                Source::Health { target, signal } => {
                    self.health(target, signal, environment, deadline).await
                }
            }
        };
        match tokio::time::timeout(deadline, reading).await {
            Ok(r) => r,
            Err(_) => Reading::Error(format!(
                "no answer within {} s, the reading's deadline",
                deadline.as_secs_f64()
            )),
        }
    }

    /// A PromQL guardrail's value in `environment` as it was at `at_ms`, or
    /// its mean over `window_ms` before then (its baseline), with the query
    /// asked; `None` for SQL sources, which cannot look back.
    pub async fn read_at(
        &self,
        source: &Source,
        environment: &str,
        at_ms: i64,
        window_ms: Option<i64>,
    ) -> Option<(Reading, String)> {
        match source {
            Source::Prometheus {
                server,
                query,
                shared,
            } => {
                let asked = Asked {
                    server,
                    query,
                    shared: *shared,
                    environment,
                    window_ms,
                };
                let query = environment::baseline_query(query, environment, window_ms);
                Some((self.promql(&asked, Some(at_ms)).await, query))
            }
            Source::Sql { .. } | Source::Health { .. } => None,
        }
    }

    async fn promql(&self, asked: &Asked<'_>, at_ms: Option<i64>) -> Reading {
        let server = asked.server;
        let Some(cfg) = self.prometheus.get(server) else {
            return Reading::Error(format!(
                "prometheus {server:?} is not configured (add [prometheus.{server}] url = \"http://…\" to console.toml)"
            ));
        };
        let (base, timeout_ms, own_server) = cfg.for_environment(asked.environment);
        let reads = Reads {
            server,
            queries: [Some(asked.query), None],
            shared: asked.shared,
            own_server,
        };
        if let Some(why) = environment::cannot_tell(&reads, asked.environment, &self.production) {
            return Reading::Error(why);
        }
        let query = environment::baseline_query(asked.query, asked.environment, asked.window_ms);
        let url = format!("{}/api/v1/query", base.trim_end_matches('/'));
        let timeout = Duration::from_millis(timeout_ms);
        let mut params = vec![("query", query)];
        if let Some(at) = at_ms {
            params.push(("time", format!("{:.3}", at as f64 / 1000.0)));
        }
        let answer = self
            .http
            .get(&url)
            .query(&params)
            .timeout(timeout)
            .send()
            .await;
        let body: serde_json::Value = match answer {
            Err(e) => return Reading::Error(format!("prometheus {server:?} did not answer: {e}")),
            Ok(res) => match res.json().await {
                Ok(v) => v,
                Err(e) => {
                    return Reading::Error(format!("prometheus {server:?}: unreadable answer: {e}"))
                }
            },
        };
        if body["status"] != "success" {
            let why = body["error"].as_str().unwrap_or("no reason given");
            return Reading::Error(format!("prometheus {server:?} refused the query: {why}"));
        }
        let number = |v: &serde_json::Value| {
            v[1].as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        match body["data"]["resultType"].as_str() {
            Some("vector") => Reading::Values(
                body["data"]["result"]
                    .as_array()
                    .map(|series| series.iter().map(|s| number(&s["value"])).collect())
                    .unwrap_or_default(),
            ),
            Some("scalar") => Reading::Values(vec![number(&body["data"]["result"])]),
            other => Reading::Error(format!(
                "prometheus {server:?}: a {} result; a guardrail reads an instant vector or a scalar",
                other.unwrap_or("missing")
            )),
        }
    }

    /// Target `name`, connected once, if it holds `environment`'s data.
    async fn target(&self, name: &str, environment: &str) -> Result<Target, String> {
        if let Some(serves) = target::serves_other(&self.targets, name, environment) {
            return Err(format!(
                "target {name:?} holds {serves}'s data; this guardrail reads {environment}"
            ));
        }
        let mut connected = self.connected.lock().await;
        if !connected.contains_key(name) {
            let t = target::connect(&self.targets, name)
                .await
                .map_err(|e| e.to_string())?;
            connected.insert(name.to_string(), t);
        }
        Ok(connected[name].clone())
    }

    async fn health(
        &self,
        name: &str,
        signal: &str,
        environment: &str,
        deadline: Duration,
    ) -> Reading {
        let Some(signal) = Signal::parse(signal) else {
            return Reading::Error(format!("{signal:?} is not a health signal"));
        };
        let t = match self.target(name, environment).await {
            Ok(t) => t,
            Err(e) => return Reading::Error(e),
        };
        match self.health.read(&t, signal, deadline).await {
            Ok(v) => Reading::Values(vec![v]),
            Err(e) => Reading::Error(e),
        }
    }

    async fn sql(&self, name: &str, sql: &str, environment: &str, deadline: Duration) -> Reading {
        let t = match self.target(name, environment).await {
            Ok(t) => t,
            Err(e) => return Reading::Error(e),
        };
        if let Err(e) = t.admit("guardrail sql", sql, Access::Read) {
            return Reading::Error(e.to_string());
        }
        match t.read_column(sql, &[], deadline).await {
            Err(e) => Reading::Error(format!("target {name:?}: {e}")),
            Ok(cells) => Reading::Values(
                cells
                    .iter()
                    .map(|c| c.as_f64().unwrap_or(f64::NAN))
                    .collect(),
            ),
        }
    }
}

/// A server's URL as a reading shows it: without a user or password.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "(not a URL)".to_string(),
    }
}
