//! Guardrails judge their phase's environment (#29): evidence from one
//! environment never satisfies another. Two applications (real HTTP
//! fixtures), staging's and production's, watched two ways at once: by two
//! real Prometheus servers, one per environment (`[prometheus.app]` with
//! `[prometheus.app.environments.staging]`), and by one Prometheus that
//! scrapes both with an `environment` label (`[prometheus.labelled]`, the
//! query naming `{{environment}}`). Staging healthy and production
//! breaching: a staging phase's items pass, a production phase's guardrails
//! pause it; swapped, the outcomes swap. A guardrail whose source cannot
//! tell staging from production is refused for staging.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::audited;
use crate::common::prometheus::{fixture_app, prometheus_scraping};
use crate::common::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::Value;
use server::config::{PrometheusConfig, PrometheusServer};

const HEALTHY: f64 = 0.0001;
const BREACHING: f64 = 0.05;

fn plan(name: &str, environment: &str) -> String {
    format!(
        r#"[plan]
name = "{name}"
flag = "{flag}"

[[phases]]
name = "{environment}"
environment = "{environment}"
exposure_bp = 10000
[[phases.checklist]]
kind = "auto"
check = "guardrail_own_server"
text = "Errors below 0.1 % on the environment's own Prometheus"
[[phases.checklist]]
kind = "auto"
check = "guardrail_by_label"
text = "Errors below 0.1 % on the shared Prometheus, by label"

[[guardrails]]
name = "own_server"
prometheus = "app"
query = "max(app_error_ratio)"
max = 0.001
interval = "1s"
action = "pause"

[[guardrails]]
name = "by_label"
prometheus = "labelled"
query = "max(app_error_ratio{{environment={{{{environment}}}}}})"
max = 0.001
interval = "1s"
action = "pause"
"#,
        flag = name.to_lowercase().replace(' ', "_")
    )
}

/// Whether the console paused `plan` by itself (within 60 s: the whole
/// suite, four real Prometheus servers among it, shares two cores).
async fn paused_by_the_console(app: &TestApp, plan: &PlanApi<'_>) -> bool {
    for _ in 0..600 {
        let pauses = audited(app, "plan.pause", Some(&plan.id)).await;
        if let Some((actor, _)) = pauses.first() {
            return actor == "system";
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn started<'a>(
    app: &'a TestApp,
    who: &reqwest::Client,
    name: &str,
    environment: &str,
) -> PlanApi<'a> {
    let plan = PlanApi::import(app, who, &plan(name, environment)).await;
    let id = plan.phase(who, 0).await["id"].clone();
    let (status, body) = plan.on_phase(who, "start_phase", &id).await;
    assert_eq!(status, 200, "{body}");
    plan
}

/// `healthy` reads healthy on both sources and is not paused; `breaching`
/// fails on both and the console pauses it.
async fn judged_apart(
    app: &TestApp,
    olga: &reqwest::Client,
    healthy: &PlanApi<'_>,
    breaching: &PlanApi<'_>,
) {
    for check in ["guardrail_own_server", "guardrail_by_label"] {
        healthy
            .item_until(olga, check, true, "0.0001 is within")
            .await;
        breaching
            .item_until(olga, check, false, "0.05 is outside")
            .await;
    }
    assert!(
        paused_by_the_console(app, breaching).await,
        "the breaching side is paused by the console"
    );
    assert!(
        audited(app, "plan.pause", Some(&healthy.id))
            .await
            .is_empty(),
        "the healthy side is not paused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_environment_is_judged_on_its_own_metrics() {
    let staging_ratio = Arc::new(AtomicU64::new(HEALTHY.to_bits()));
    let production_ratio = Arc::new(AtomicU64::new(BREACHING.to_bits()));
    let staging_app = fixture_app(staging_ratio.clone()).await;
    let production_app = fixture_app(production_ratio.clone()).await;
    let staging_prom = prometheus_scraping(&[(staging_app, "staging")]).await;
    let production_prom = prometheus_scraping(&[(production_app, "production")]).await;
    let shared_prom =
        prometheus_scraping(&[(staging_app, "staging"), (production_app, "production")]).await;
    let (own, by_label) = (
        (production_prom.url.clone(), staging_prom.url.clone()),
        shared_prom.url.clone(),
    );
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.prometheus.insert(
            "app".into(),
            PrometheusConfig {
                url: own.0,
                timeout_ms: Some(2_000),
                environments: BTreeMap::from([(
                    "staging".to_string(),
                    PrometheusServer {
                        url: own.1,
                        timeout_ms: None,
                    },
                )]),
            },
        );
        c.prometheus.insert(
            "labelled".into(),
            crate::common::prometheus::source(by_label, 2_000),
        );
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;

    // Every Prometheus holds (staging, production) before plans read them (a
    // reading of an older value would judge the healthy side by it).
    let all_hold = |staging: f64, production: f64| {
        use crate::common::prometheus::until_scraped;
        let (st, pr, sh) = (&staging_prom, &production_prom, &shared_prom);
        async move {
            until_scraped(st, "max(app_error_ratio)", staging).await;
            until_scraped(pr, "max(app_error_ratio)", production).await;
            until_scraped(
                sh,
                r#"max(app_error_ratio{environment="staging"})"#,
                staging,
            )
            .await;
            until_scraped(
                sh,
                r#"max(app_error_ratio{environment="production"})"#,
                production,
            )
            .await;
        }
    };

    // Staging healthy, production breaching.
    all_hold(HEALTHY, BREACHING).await;
    let staging = started(&app, &olga, "Staging side", "staging").await;
    let production = started(&app, &olga, "Production side", "production").await;
    judged_apart(&app, &olga, &staging, &production).await;
    // Each reading says where it was read and the exact query it ran.
    let read = |view: &Value, guardrail: &str| -> (String, String) {
        let g = view["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == guardrail)
            .unwrap();
        let r = &g["readings"][0];
        (
            r["source"].as_str().unwrap().into(),
            r["query"].as_str().unwrap().into(),
        )
    };
    let in_staging = staging.view(&olga).await;
    let (from, query) = read(&in_staging, "own_server");
    assert_eq!(
        from,
        format!(
            "prometheus app: staging's own server, {}/",
            staging_prom.url
        )
    );
    assert_eq!(query, "max(app_error_ratio)");
    let (from, query) = read(&in_staging, "by_label");
    assert_eq!(from, format!("prometheus labelled, {}/", shared_prom.url));
    assert_eq!(query, r#"max(app_error_ratio{environment="staging"})"#);
    let in_production = production.view(&olga).await;
    let (from, _) = read(&in_production, "own_server");
    assert_eq!(from, format!("prometheus app, {}/", production_prom.url));
    let (_, query) = read(&in_production, "by_label");
    assert_eq!(query, r#"max(app_error_ratio{environment="production"})"#);

    // Swapped: the outcomes swap.
    staging_ratio.store(BREACHING.to_bits(), Ordering::Relaxed);
    production_ratio.store(HEALTHY.to_bits(), Ordering::Relaxed);
    all_hold(BREACHING, HEALTHY).await;
    let staging = started(&app, &olga, "Staging again", "staging").await;
    let production = started(&app, &olga, "Production again", "production").await;
    judged_apart(&app, &olga, &production, &staging).await;

    // A source that cannot tell staging from production is refused for
    // staging, with the ways out; said on purpose (shared_source), it is
    // accepted; production may read the shared source as it is.
    let blind = plan("Blind", "staging").replace(
        "max(app_error_ratio{environment={{environment}}})",
        "max(app_error_ratio)",
    );
    let res = olga
        .post(app.url("/api/v1/plans"))
        .body(blind.clone())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 400, "{body}");
    for says in [
        "guardrails[1] (by_label): it watches staging, but prometheus \\\"labelled\\\" cannot tell staging's metrics from production's",
        "{{environment}}",
        "[prometheus.labelled.environments.staging]",
        "shared_source = true",
    ] {
        assert!(body.contains(says), "{says:?} in {body}");
    }
    PlanApi::import(
        &app,
        &olga,
        &blind.replace(
            "action = \"pause\"\n",
            "action = \"pause\"\nshared_source = true\n",
        ),
    )
    .await;
    let production_blind = blind
        .replace("\"Blind\"", "\"Blind production\"")
        .replace("\"blind\"", "\"blind_production\"")
        .replace("\"staging\"", "\"production\"");
    PlanApi::import(&app, &olga, &production_blind).await;
    app.stop().await;
}
