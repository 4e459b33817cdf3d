//! A guardrail that never answers makes an error reading within its
//! deadline, while another plan's breaching guardrail still acts within two
//! of its intervals. Two plans on one SQLite target, each with a phase in
//! dev: "Slow" reads a statement that runs forever (an unbounded recursive
//! CTE; plan SQL may call no sleep function), "Breach" reads 5 against a
//! bound of 1 and pauses. The slow guardrail's interval is 4 s, so its
//! deadline (interval clamped to 1..=10 s) outlasts the breach's two 1-s
//! intervals: the breach must act while the stuck reading is still under
//! way, which only a concurrent evaluator does.
use crate::common::refused;
use std::time::{Duration, Instant};

use crate::common::audited;
use crate::common::team::console_with_sqlite_target;
use crate::common::PlanApi;
use app::access::Role;
use serde_json::{json, Value};

const FOREVER: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c";

/// Its deadline: the 4 s interval (within 1..=10 s).
const SLOW_DEADLINE: Duration = Duration::from_secs(4);
const BREACH_INTERVAL: Duration = Duration::from_secs(1);
/// For a busy machine: HTTP, the store's writes, polling.
const SLACK: Duration = Duration::from_secs(1);

fn plan(name: &str, guardrail: &str, sql: &str, interval: &str, action: &str) -> String {
    format!(
        r#"[plan]
name = "{name}"
flag = "{flag}"

[[phases]]
name = "dev"
environment = "dev"
exposure_bp = 10000

[[guardrails]]
name = "{guardrail}"
target = "t"
sql = "{sql}"
max = 1
interval = "{interval}"
action = "{action}"
"#,
        flag = name.to_lowercase()
    )
}

async fn start_first_phase(plan: &PlanApi<'_>, who: &reqwest::Client) {
    let id = plan.phase(who, 0).await["id"].clone();
    let (status, body) = plan.on_phase(who, "start_phase", &id).await;
    assert_eq!(status, 200, "{body}");
}

/// The newest reading of the plan's only guardrail in dev, if any.
async fn reading(plan: &PlanApi<'_>, who: &reqwest::Client) -> Option<Value> {
    let view = plan.view(who).await;
    view["guardrails"][0]["readings"]
        .as_array()?
        .iter()
        .find(|r| r["environment"] == "dev")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_guardrail_errs_at_its_deadline_and_holds_back_no_other_plan() {
    let (app, t, _target_db) = console_with_sqlite_target(&[
        "CREATE TABLE errors (id INTEGER PRIMARY KEY)",
        "INSERT INTO errors (id) VALUES (1), (2), (3), (4), (5)",
    ])
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let slow = plan("Slow", "stuck", FOREVER, "4s", "record");
    let slow = PlanApi::import(&app, &olga, &slow).await;
    let count = "SELECT COUNT(*) FROM errors";
    let breach = plan("Breach", "errors", count, "1s", "pause");
    let breach = PlanApi::import(&app, &olga, &breach).await;

    // The stuck one first: its reading may be under way when the other's
    // phase starts.
    let slow_started = Instant::now();
    start_first_phase(&slow, &olga).await;
    let breach_started = Instant::now();
    start_first_phase(&breach, &olga).await;

    // The breach acts (failure_limit 0: on its first failed reading), as
    // the system, within two of its intervals.
    while audited(&app, "guardrail.action", Some(&*breach.id))
        .await
        .is_empty()
    {
        assert!(
            breach_started.elapsed() < 2 * BREACH_INTERVAL + SLACK,
            "the breaching guardrail did not act within two intervals"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acted = breach_started.elapsed();
    // Meanwhile the stuck statement still runs: no reading of it yet, and
    // the console answers at once.
    let pending = reading(&slow, &olga).await;
    assert!(
        pending.is_none(),
        "the stuck reading ended before the breach acted ({acted:?}): {pending:?}"
    );
    let asked = Instant::now();
    assert_eq!(app.get("/healthz").await.status(), 200);
    let answered = asked.elapsed();
    assert!(answered < Duration::from_millis(500), "{answered:?}");

    let actions = audited(&app, "guardrail.action", Some(&*breach.id)).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].0, "system");
    assert_eq!(actions[0].1["guardrail"], "errors", "{actions:?}");
    assert_eq!(actions[0].1["action"], "pause", "{actions:?}");
    assert_eq!(
        audited(&app, "plan.pause", Some(&*breach.id)).await.len(),
        1
    );
    let view = breach.view(&olga).await;
    let dev = &view["flag"]["environments"][0];
    assert_eq!(dev["environment"], "dev", "{view}");
    assert_eq!(dev["enabled"], false, "paused: {dev}");

    // The stuck guardrail: an error reading once its deadline passes (its
    // first reading is taken at the next pass, within a second).
    let stuck = loop {
        if let Some(r) = reading(&slow, &olga).await {
            break r;
        }
        assert!(
            slow_started.elapsed() < Duration::from_secs(1) + SLOW_DEADLINE + SLACK,
            "no reading of the stuck guardrail within its deadline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        slow_started.elapsed() >= SLOW_DEADLINE,
        "ended by its deadline, not before: {:?}; {stuck}",
        slow_started.elapsed()
    );
    assert_eq!(stuck["outcome"], "error", "{stuck}");
    let detail = stuck["detail"].as_str().unwrap();
    assert!(
        detail.contains("deadline") || detail.contains("interrupt"),
        "{detail}"
    );
    // `record`: the stuck guardrail takes no action of its own.
    assert!(audited(&app, "guardrail.action", Some(&*slow.id))
        .await
        .is_empty());
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;
    drop(t);
}

/// A plan paused by its guardrail cannot be resumed while the guardrail
/// still fails (it used to be, and then never acted again on that breach);
/// once it reads healthy the resume goes through, and a new breach acts
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_waits_for_a_healthy_reading_and_re_arms_the_guardrail() {
    let (app, t, _target_db) = console_with_sqlite_target(&[
        "CREATE TABLE errors (id INTEGER PRIMARY KEY)",
        "INSERT INTO errors (id) VALUES (1), (2), (3)",
    ])
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let breach = plan(
        "Breach",
        "errors",
        "SELECT COUNT(*) FROM errors",
        "1s",
        "pause",
    ) + "\n[rollback]\npause = [\"Tell #incidents\"]\n";
    let breach = PlanApi::import(&app, &olga, &breach).await;
    start_first_phase(&breach, &olga).await;
    let acted = |n: usize| {
        let app = &app;
        let id = breach.id.clone();
        async move {
            let started = Instant::now();
            while audited(app, "guardrail.action", Some(&*id)).await.len() < n {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "action {n} never came"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    acted(1).await;
    // The page says what happened, who did it and what people do now.
    let incident = breach.view(&olga).await["incident"].clone();
    assert_eq!(incident["action"], "plan.pause", "{incident}");
    assert_eq!(incident["by_system"], true, "{incident}");
    assert!(
        incident["why"].as_str().unwrap().contains("errors"),
        "{incident}"
    );
    assert_eq!(
        incident["follow_up"],
        json!(["Tell #incidents"]),
        "{incident}"
    );
    let resume = json!({"command": "resume", "reason": "looks fine to me"});
    refused(
        breach.command(&olga, resume.clone()).await,
        409,
        "still reads failed",
    );

    // Fixed: the guardrail reads healthy, and the resume goes through.
    sqlx::query("DELETE FROM errors WHERE id > 1")
        .execute(&t.pool)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        if reading(&breach, &olga)
            .await
            .is_some_and(|r| r["outcome"] == "healthy")
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = breach.command(&olga, resume).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        breach.view(&olga).await["incident"].is_null(),
        "resumed: over"
    );
    // A new breach: the guardrail acts again.
    sqlx::query("INSERT INTO errors (id) VALUES (2), (3)")
        .execute(&t.pool)
        .await
        .unwrap();
    acted(2).await;
    assert_eq!(
        audited(&app, "plan.pause", Some(&*breach.id)).await.len(),
        2
    );
    app.stop().await;
    drop(t);
}
