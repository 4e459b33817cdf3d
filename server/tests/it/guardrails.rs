//! Guardrails against real sources: a real Prometheus (Debian's, started
//! here on 127.0.0.1 with a 1 s scrape interval) scraping a small fixture
//! application whose error ratio the test sets, and read-only SQL on a
//! PostgreSQL target. The server's own evaluator reads them; the checklist
//! item `guardrail_NAME` is met only while the readings are healthy, and
//! fails closed: an absent metric, a Prometheus that is gone, a NULL or an
//! empty result is never healthy. Every change of state is audited.
use crate::common::prometheus::console_over_fixture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::audited;
use crate::common::prometheus::{console_reading, fixture_app, free_port, prometheus};
use crate::common::Fetch;
use crate::common::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::Value;
use server::backfill::target;

async fn start_first_phase(plan: &PlanApi<'_>, who: &reqwest::Client) {
    let id = plan.phase(who, 0).await["id"].clone();
    let (status, body) = plan.on_phase(who, "start_phase", &id).await;
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

use crate::common::fixtures::GUARDRAILS_PROM as PROM_PLAN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_guardrails_fail_closed() {
    let (ratio, prom, app) = console_over_fixture(0.0005).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, PROM_PLAN).await;
    start_first_phase(&plan, &olga).await;

    // Healthy once Prometheus has scraped the fixture.
    plan.item_until(
        &olga,
        "guardrail_error_rate",
        true,
        "0.0005 is within value ≤ 0.001",
    )
    .await;
    // Relative to the value Prometheus had when the phase started.
    let relative = "value ≤ 0.001 (baseline × 2, baseline 0.0005)";
    plan.item_until(&olga, "guardrail_relative", true, relative)
        .await;
    // A metric that is absent never reads healthy.
    plan.item_until(&olga, "guardrail_absent", false, "failed: no data")
        .await;
    // An error spike: failed within a scrape and a reading.
    ratio.store(0.05f64.to_bits(), Ordering::Relaxed);
    plan.item_until(
        &olga,
        "guardrail_error_rate",
        false,
        "0.05 is outside value ≤ 0.001",
    )
    .await;
    plan.item_until(&olga, "guardrail_relative", false, "0.05 is outside")
        .await;
    ratio.store(0.0001f64.to_bits(), Ordering::Relaxed);
    plan.item_until(&olga, "guardrail_error_rate", true, "0.0001 is within")
        .await;
    // Prometheus gone: an error, not healthy.
    drop(prom);
    plan.item_until(&olga, "guardrail_error_rate", false, "did not answer")
        .await;
    assert_eq!(
        states(&app, "error_rate").await,
        ["healthy", "failed", "healthy", "error"],
        "each change of state audited once"
    );
    app.stop().await;
}

use crate::common::fixtures::GUARDRAILS_SQL as SQL_PLAN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_guardrails_on_postgres_read_parity_and_fail_closed() {
    let pg = TestDb::new(Backend::Postgres).await;
    let targets = crate::common::targets::one("pg", &pg.database_url(), Some("staging"), true);
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

    let detail = plan
        .item_until(&olga, "guardrail_parity", true, "5 is within value ≤ 9")
        .await;
    // The approver reads where the evidence came from.
    assert!(detail.ends_with("· read from target pg"), "{detail}");
    plan.item_until(&olga, "guardrail_null", false, "not a number")
        .await;
    plan.item_until(&olga, "guardrail_no_rows", false, "no data")
        .await;
    // Ten more legacy rows without their copies: the delta breaks the range.
    sqlx::query("INSERT INTO legacy SELECT generate_series(101, 110)")
        .execute(&t.pool)
        .await
        .unwrap();
    plan.item_until(&olga, "guardrail_parity", false, "15 is outside value ≤ 9")
        .await;
    assert_eq!(states(&app, "parity").await, ["healthy", "failed"]);

    // The timeline tells it: the guardrail against its bound, the breach.
    let vic = app.signed_in("vic", &[Role::Viewer]).await;
    let url = app.url(&format!("/api/v1/plans/{}/timeline", plan.id));
    let t: Value = vic.get(&url).body_json().await;
    assert!(
        t["svg"].as_str().unwrap().contains("parity (staging)"),
        "{t}"
    );
    let actions: Vec<&str> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"guardrail.state") && actions.contains(&"phase.start"),
        "{actions:?}"
    );
    // A plans:read token sees the chart and the count, not the events (who,
    // from where, with which browser): those need audit:read.
    let secret = server::auth::tokens::create(
        &app.state.store,
        &server::audit::Actor::System,
        &server::audit::ClientInfo::default(),
        "dashboard",
        &[app::access::Scope::PlansRead],
        None,
        &crate::common::environments(),
    )
    .await
    .unwrap()
    .secret;
    let t: Value = app.client.get(&url).bearer_auth(&secret).body_json().await;
    assert!(
        t["svg"].as_str().unwrap().contains("parity (staging)"),
        "{t}"
    );
    assert_eq!(t["events"], serde_json::json!([]), "{t}");
    assert!(t["events_in_range"].as_u64().unwrap() > 0, "{t}");
    let (status, body) = vic.get(format!("{url}?hours=0")).answer_text().await;
    assert_eq!(status, 400);
    assert!(body.contains("hours: 0 is outside 1..=2160"), "{body}");
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    app.stop().await;
}

/// A guardrail's SQL is plan SQL: one read-only statement, checked at import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrail_sql_that_writes_and_unknown_actions_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    for (bad, says) in [
        (SQL_PLAN.replace("SELECT MAX(id) FROM partitioned WHERE id < 0", "DELETE FROM partitioned"), "guardrails[1].sql"),
        (SQL_PLAN.replace("max = 9\ninterval = \"1s\"\n\n[[guardrails]]\nname = \"null\"", "max = 9\ninterval = \"1s\"\naction = \"sideways\"\n\n[[guardrails]]\nname = \"null\""), "use record, pause, rollback or emergency"),
        (SQL_PLAN.replace("target = \"pg\"\nsql = \"SELECT ABS", "sql = \"SELECT ABS"), "give a source"),
    ] {
        let (status, text) = olga.post(app.url("/api/v1/plans")).body(bad).answer_text().await;
    assert_eq!(status, 400);
        assert!(text.contains(says), "{says}: {text}");
    }
    app.stop().await;
}

use crate::common::fixtures::GUARDRAILS_ACT as ACT_PLAN;

/// An error spike in "production 5 %": two failed readings (failure_limit 1)
/// and the system rolls production back to 0 %, once, with the audit trail
/// saying why; a dry-run guardrail only records what it would have done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_rolls_back_on_its_own_once() {
    let ratio = Arc::new(AtomicU64::new(0.0002f64.to_bits()));
    let prom = prometheus(fixture_app(ratio.clone()).await).await;
    let url = prom.url.clone();
    let gone = format!("http://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.prometheus
            .insert("app".into(), crate::common::prometheus::source(url, 2_000));
        c.prometheus
            .insert("gone".into(), crate::common::prometheus::source(gone, 500));
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, ACT_PLAN).await;
    for i in 0..2 {
        let id = plan.phase(&olga, i).await["id"].clone();
        let (status, body) = plan.on_phase(&olga, "start_phase", &id).await;
        assert_eq!(status, 200, "{body}");
        if i == 0 {
            let (status, body) = plan.on_phase(&olga, "request_approval", &id).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let production = |view: &Value| {
        view["flag"]["environments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["environment"] == "production")
            .unwrap()["exposure_bp"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(production(&plan.view(&olga).await), 500);
    // The dry-run guardrail's source is gone: after two errors it records
    // the pause it would take, and takes none.
    for _ in 0..100 {
        if !audited(&app, "guardrail.action", None).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dry = audited(&app, "guardrail.action", None).await;
    assert_eq!(dry.len(), 1, "{dry:?}");
    assert_eq!(
        (
            dry[0].1["guardrail"].as_str(),
            dry[0].1["dry_run"].as_bool()
        ),
        (Some("canary"), Some(true))
    );
    assert_eq!(
        production(&plan.view(&olga).await),
        500,
        "a dry run does not act"
    );

    // The spike: rolled back by the system within a few readings.
    let spiked = std::time::Instant::now();
    ratio.store(0.2f64.to_bits(), Ordering::Relaxed);
    for _ in 0..100 {
        if plan.phase(&olga, 1).await["status"] == "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let view = plan.view(&olga).await;
    assert_eq!(view["phases"][1]["status"], "pending", "rolled back");
    assert_eq!(production(&view), 0);
    assert_eq!(
        view["summary"]["status"], "active",
        "standard: the plan stays resumable"
    );
    // interval × (failure_limit + 1) + a scrape, with slack for a busy machine.
    assert!(
        spiked.elapsed() < Duration::from_secs(8),
        "{:?}",
        spiked.elapsed()
    );
    let rollbacks = audited(&app, "plan.rollback.standard", None).await;
    assert_eq!(rollbacks.len(), 1);
    assert_eq!(rollbacks[0].0, "system");
    let why = rollbacks[0].1["reason"].as_str().unwrap();
    assert!(
        why.contains("guardrail \"error_rate\": 2 failed reading(s) in a row in production"),
        "{why}"
    );

    // Flapping afterwards acts no more: the phase it guarded is not running.
    for r in [0.0001, 0.3, 0.0001, 0.3] {
        ratio.store(f64::to_bits(r), Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let acted: Vec<_> = audited(&app, "guardrail.action", None)
        .await
        .into_iter()
        .filter(|(_, d)| d["guardrail"] == "error_rate")
        .collect();
    assert_eq!(acted.len(), 1, "{acted:?}");
    assert_eq!(acted[0].0, "system");
    assert_eq!(audited(&app, "plan.rollback.standard", None).await.len(), 1);
    app.stop().await;
}

/// A baseline guardrail whose Prometheus does not answer at the phase's
/// start: each reading is an error (which counts toward
/// `consecutive_error_limit`), not an inconclusive one that would pause the
/// phase at once; the baseline is asked again with the next reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_baseline_that_cannot_be_read_is_an_error_not_a_pause() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = console_reading(&dead, 500).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let source = r#"[plan]
name = "Blind baseline"
flag = "blind_baseline"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000

[[guardrails]]
name = "latency"
prometheus = "app"
query = "max(latency_seconds)"
max = "baseline * 1.5"
interval = "1s"
action = "pause"
shared_source = true
"#;
    let plan = PlanApi::import(&app, &olga, source).await;
    start_first_phase(&plan, &olga).await;
    let mut first: Option<(String, String)> = None;
    for _ in 0..100 {
        first = sqlx::query_as(
            "SELECT outcome, detail FROM guardrail_measurements ORDER BY at_ms LIMIT 1",
        )
        .fetch_optional(app.state.store.pool())
        .await
        .unwrap();
        if first.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (outcome, detail) = first.expect("a reading");
    assert_eq!(outcome, "error", "{detail}");
    assert!(
        detail.contains("the baseline could not be read"),
        "{detail}"
    );
    let dev = &plan.view(&olga).await["flag"]["environments"][0];
    assert_eq!(
        dev["enabled"], true,
        "not paused on the first reading: {dev}"
    );
    app.stop().await;
}
