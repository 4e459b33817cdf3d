//! Guardrails against real sources: a real Prometheus (Debian's, started
//! here on 127.0.0.1 with a 1 s scrape interval) scraping a small fixture
//! application whose error ratio the test sets, and read-only SQL on a
//! PostgreSQL target. The server's own evaluator reads them; the checklist
//! item `guardrail_NAME` is met only while the readings are healthy, and
//! fails closed: an absent metric, a Prometheus that is gone, a NULL or an
//! empty result is never healthy. Every change of state is audited.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};
use server::backfill::target;
use server::config::{PrometheusConfig, TargetConfig};

/// A fixture application: `/metrics` with the error ratio the test sets.
async fn fixture_app(ratio: Arc<AtomicU64>) -> u16 {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let ratio = f64::from_bits(ratio.load(Ordering::Relaxed));
            async move { format!("# TYPE app_error_ratio gauge\napp_error_ratio {ratio}\n") }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

struct Prometheus {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn prometheus(scrape_port: u16) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{scrape_port}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus is installed (scripts/setup test)");
    // Killed and waited for on every path from here (Drop), a panic included.
    let prom = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let url = prom.url.clone();
    let http = reqwest::Client::new();
    for _ in 0..200 {
        // Ready, and the fixture scraped once: the first reading has data.
        let scraped = http
            .get(format!("{url}/api/v1/query?query=app_error_ratio"))
            .send()
            .await;
        if let Ok(res) = scraped {
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if body["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                return prom;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prometheus did not become ready");
}

/// Waits until the phase's item for `check` says `met` with a detail that
/// contains `says`; returns the detail.
async fn item_until(
    plan: &PlanApi<'_>,
    who: &reqwest::Client,
    check: &str,
    met: bool,
    says: &str,
) -> String {
    let mut last = Value::Null;
    for _ in 0..150 {
        let phase = plan.phase(who, 0).await;
        let item = phase["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["check"] == check)
            .unwrap()
            .clone();
        let detail = item["detail"].as_str().unwrap_or_default().to_string();
        if item["met"] == met && detail.contains(says) {
            return detail;
        }
        last = item;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{check} never became met={met} saying {says:?}; last: {last}");
}

async fn start_first_phase(plan: &PlanApi<'_>, who: &reqwest::Client) {
    let id = plan.phase(who, 0).await["id"].clone();
    let (status, body) = plan
        .command(who, json!({"command": "start_phase", "phase_id": id}))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn states(app: &TestApp, guardrail: &str) -> Vec<String> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'guardrail.state' ORDER BY seq",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter(|d| d["guardrail"] == guardrail)
        .map(|d| d["to"].as_str().unwrap().to_string())
        .collect()
}

const PROM_PLAN: &str = r#"[plan]
name = "Guarded"
flag = "guarded"

[[phases]]
name = "production 5%"
environment = "production"
exposure_bp = 500
[[phases.checklist]]
kind = "auto"
check = "guardrail_error_rate"
text = "5xx errors < 0.1% sustained"
[[phases.checklist]]
kind = "auto"
check = "guardrail_absent"
text = "A metric nobody exports"

[[guardrails]]
name = "error_rate"
prometheus = "app"
query = "max(app_error_ratio)"
max = 0.001
interval = "1s"

[[guardrails]]
name = "absent"
prometheus = "app"
query = "max(metric_nobody_exports)"
max = 1
interval = "1s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_guardrails_fail_closed() {
    let ratio = Arc::new(AtomicU64::new(0.0005f64.to_bits()));
    let prom = prometheus(fixture_app(ratio.clone()).await).await;
    let url = prom.url.clone();
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.prometheus.insert(
            "app".into(),
            PrometheusConfig {
                url,
                timeout_ms: Some(2_000),
            },
        );
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, PROM_PLAN).await;
    start_first_phase(&plan, &olga).await;

    // Healthy once Prometheus has scraped the fixture.
    item_until(
        &plan,
        &olga,
        "guardrail_error_rate",
        true,
        "0.0005 is within value ≤ 0.001",
    )
    .await;
    // A metric that is absent never reads healthy.
    item_until(&plan, &olga, "guardrail_absent", false, "failed: no data").await;
    // An error spike: failed within a scrape and a reading.
    ratio.store(0.05f64.to_bits(), Ordering::Relaxed);
    item_until(
        &plan,
        &olga,
        "guardrail_error_rate",
        false,
        "0.05 is outside value ≤ 0.001",
    )
    .await;
    ratio.store(0.0001f64.to_bits(), Ordering::Relaxed);
    item_until(
        &plan,
        &olga,
        "guardrail_error_rate",
        true,
        "0.0001 is within",
    )
    .await;
    // Prometheus gone: an error, not healthy.
    drop(prom);
    item_until(
        &plan,
        &olga,
        "guardrail_error_rate",
        false,
        "did not answer",
    )
    .await;
    assert_eq!(
        states(&app, "error_rate").await,
        ["healthy", "failed", "healthy", "error"],
        "each change of state audited once"
    );
    app.stop().await;
}

const SQL_PLAN: &str = r#"[plan]
name = "Parity"
flag = "parity"

[[phases]]
name = "staging"
environment = "staging"
exposure_bp = 10000
[[phases.checklist]]
kind = "auto"
check = "guardrail_parity"
text = "Row count delta < 10"
[[phases.checklist]]
kind = "auto"
check = "guardrail_null"
text = "A query that answers NULL"
[[phases.checklist]]
kind = "auto"
check = "guardrail_no_rows"
text = "A query that answers nothing"

[[guardrails]]
name = "parity"
target = "pg"
sql = "SELECT ABS((SELECT COUNT(*) FROM legacy) - (SELECT COUNT(*) FROM partitioned))"
max = 9
interval = "1s"

[[guardrails]]
name = "null"
target = "pg"
sql = "SELECT MAX(id) FROM partitioned WHERE id < 0"
max = 9
interval = "1s"

[[guardrails]]
name = "no_rows"
target = "pg"
sql = "SELECT id FROM partitioned WHERE id < 0"
max = 9
interval = "1s"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_guardrails_on_postgres_read_parity_and_fail_closed() {
    let pg = TestDb::new(Backend::Postgres).await;
    let targets = BTreeMap::from([(
        "pg".to_string(),
        TargetConfig {
            url: Some(pg.database_url()),
            url_env: None,
            allow_superuser: true,
            environment: Some("staging".into()),
        },
    )]);
    let t = target::connect(&targets, "pg").await.unwrap();
    for sql in [
        "CREATE TABLE legacy (id BIGINT PRIMARY KEY)",
        "CREATE TABLE partitioned (id BIGINT PRIMARY KEY)",
        "INSERT INTO legacy SELECT generate_series(1, 100)",
        "INSERT INTO partitioned SELECT generate_series(1, 95)",
    ] {
        sqlx::query(sql).execute(&t.pool).await.unwrap();
    }
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets.clone())
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, SQL_PLAN).await;
    start_first_phase(&plan, &olga).await;

    item_until(
        &plan,
        &olga,
        "guardrail_parity",
        true,
        "5 is within value ≤ 9",
    )
    .await;
    item_until(&plan, &olga, "guardrail_null", false, "not a number").await;
    item_until(&plan, &olga, "guardrail_no_rows", false, "no data").await;
    // Ten more legacy rows without their copies: the delta breaks the range.
    sqlx::query("INSERT INTO legacy SELECT generate_series(101, 110)")
        .execute(&t.pool)
        .await
        .unwrap();
    item_until(
        &plan,
        &olga,
        "guardrail_parity",
        false,
        "15 is outside value ≤ 9",
    )
    .await;
    assert_eq!(states(&app, "parity").await, ["healthy", "failed"]);
    app.stop().await;
}

/// A guardrail's SQL is plan SQL: one read-only statement, checked at import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrail_sql_that_writes_and_actions_not_carried_out_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    for (bad, says) in [
        (SQL_PLAN.replace("SELECT MAX(id) FROM partitioned WHERE id < 0", "DELETE FROM partitioned"), "guardrails[1].sql"),
        (SQL_PLAN.replace("max = 9\ninterval = \"1s\"\n\n[[guardrails]]\nname = \"null\"", "max = 9\ninterval = \"1s\"\naction = \"rollback\"\n\n[[guardrails]]\nname = \"null\""), "is not carried out"),
        (SQL_PLAN.replace("target = \"pg\"\nsql = \"SELECT ABS", "sql = \"SELECT ABS"), "give a source"),
    ] {
        let res = olga.post(app.url("/api/v1/plans")).body(bad).send().await.unwrap();
        assert_eq!(res.status(), 400);
        let text = res.text().await.unwrap();
        assert!(text.contains(says), "{says}: {text}");
    }
    app.stop().await;
}
