//! The guardrail readings' store on both backends: each guardrail's newest
//! reading per environment (`guardrail_latest`, kept in the reading's own
//! transaction), how near its bound each came (worked out in SQL the way
//! `timeline::ratio` reads one reading), and one line's readings in a range.
use app::access::Role;
use server::plans::guardrail::measurements::{self, Measurement};
use server::plans::guardrail::Outcome;
use server::plans::view::timeline::ratio;

use crate::common::{Backend, PlanApi, TestApp};

const PLAN: &str = "[plan]\nname = \"Readings\"\nflag = \"readings\"\n\n[[phases]]\nname = \"dev\"\nenvironment = \"dev\"\nexposure_bp = 10000\n";

fn reading(
    plan: &str,
    guardrail: &str,
    env: &str,
    at_ms: i64,
    value: f64,
    bounds: (Option<f64>, Option<f64>),
) -> Measurement {
    Measurement {
        plan_id: plan.into(),
        guardrail: guardrail.into(),
        environment: env.into(),
        at_ms,
        value: Some(value),
        sample: None,
        bounds,
        threshold: "as given".into(),
        outcome: Outcome::Healthy,
        detail: format!("{value}"),
        read_from: None,
    }
}

async fn newest_peaks_and_lines(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let id = plan.id.as_str();
    let readings = [
        reading(id, "latency", "dev", 1_000, 0.5, (None, Some(2.0))),
        reading(id, "latency", "dev", 3_000, 1.0, (None, Some(2.0))),
        // An older reading written later does not become the newest.
        reading(id, "latency", "dev", 2_000, 3.0, (None, Some(2.0))),
        reading(id, "latency", "staging", 1_500, 0.2, (None, Some(2.0))),
        // A bound of 0: within it reads 0, outside it 1 + how far (at most 10).
        reading(id, "errors", "dev", 1_000, 0.0, (None, Some(0.0))),
        reading(id, "errors", "dev", 2_500, 4.0, (None, Some(0.0))),
        // A lower bound: min ÷ value.
        reading(id, "hit_rate", "dev", 1_000, 0.5, (Some(0.7), None)),
    ];
    for m in &readings {
        let mut tx = app.state.store.begin_write().await.unwrap();
        measurements::insert(&mut tx, m, None).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut conn = app.state.store.pool().acquire().await.unwrap();

    let mut latest: Vec<(String, String, i64)> = measurements::latest(&mut conn, id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.guardrail, m.environment, m.at_ms))
        .collect();
    latest.sort();
    assert_eq!(
        latest,
        [
            ("errors".to_string(), "dev".to_string(), 2_500),
            ("hit_rate".into(), "dev".into(), 1_000),
            ("latency".into(), "dev".into(), 3_000),
            ("latency".into(), "staging".into(), 1_500),
        ]
    );

    let mut peaks = measurements::peaks(&mut conn, id, (0, 10_000))
        .await
        .unwrap();
    peaks.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let want = |g: &str, env: &str| {
        readings
            .iter()
            .filter(|m| m.guardrail == g && m.environment == env)
            .filter_map(ratio)
            .fold(f64::MIN, f64::max)
    };
    let got: Vec<(&str, &str, f64)> = peaks
        .iter()
        .map(|(g, e, p)| (g.as_str(), e.as_str(), *p))
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    for (g, env, peak) in got {
        assert!(
            (peak - want(g, env)).abs() < 1e-9,
            "{g} {env}: {peak} vs {}",
            want(g, env)
        );
    }
    assert!((want("errors", "dev") - 5.0).abs() < 1e-9);
    // The range bounds the peaks: before 2,000 latency never passed 0.5.
    let early = measurements::peaks(&mut conn, id, (0, 1_999))
        .await
        .unwrap();
    let latency = early
        .iter()
        .find(|p| p.0 == "latency" && p.1 == "dev")
        .unwrap();
    assert!((latency.2 - 0.25).abs() < 1e-9, "{early:?}");

    let line = measurements::line(&mut conn, id, ("latency", "dev"), (1_500, 10_000), 10)
        .await
        .unwrap();
    let at: Vec<i64> = line.iter().map(|m| m.at_ms).collect();
    assert_eq!(at, [3_000, 2_000], "newest first, in range only");
    let one = measurements::line(&mut conn, id, ("latency", "dev"), (0, 10_000), 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    drop(conn);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_store_on_sqlite() {
    newest_peaks_and_lines(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_store_on_postgres() {
    newest_peaks_and_lines(Backend::Postgres).await;
}
