//! The STI template, as shipped, walked to `completed` through the API on a
//! seed-shaped PostgreSQL target, with its guardrails reading a real
//! Prometheus that scrapes a fixture application (requests, 5xx, latency
//! the test controls): every automatic item evaluated, soaks passed on the
//! console's clock. A second walk raises the error rate in
//! "production 5 %": the system rolls production back to 0 %, and the audit
//! trail says why.
use crate::common::team::{sql, team, Team, HOUR};
use crate::common::world::{world, World, STEP_MS};
use serde_json::json;

const JOBS: [&str; 2] = ["school", "self_study"];
/// The `for` of the STI template's gating guardrails.
const WINDOW: i64 = 10 * 60_000;

/// dev → staging → production 5 % (started), as the seeds do it.
async fn to_production_5(w: &World, t: &Team<'_>) {
    assert_eq!(t.start("dev").await.0, 200);
    for job in JOBS {
        assert_eq!(t.run(job, "dry_run", "dev").await["errors"], 0);
    }
    t.tick_manual("dev").await;
    t.approve("dev", 1).await;
    w.app.state.clock.advance(48 * HOUR);

    t.tick_manual("staging").await;
    // Seed 000: the dry-run on staging's data before STI is on there.
    let (status, body) = t.start("staging").await;
    assert_eq!(status, 409, "{body}");
    for job in JOBS {
        t.run(job, "dry_run", "staging").await;
    }
    assert_eq!(t.start("staging").await.0, 200);
    for job in JOBS {
        t.run(job, "run", "staging").await;
        t.run(job, "verify", "staging").await;
    }
    t.tick_manual("staging").await;
    w.soak(t, "staging", 48, WINDOW).await;
    // Two days on, the entry criterion still says how it stood at the
    // start: its 24 h count from there, not from now.
    let staging = t.phase("staging").await;
    let entry = staging["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["entry"] == true && i["check"] == "dry_run_clean")
        .unwrap()
        .clone();
    assert_eq!(entry["met"], true, "{entry}");
    t.approve("staging", 1).await;

    t.tick_manual("production 5%").await;
    for job in JOBS {
        assert_eq!(t.run(job, "dry_run", "production").await["errors"], 0);
    }
    let (status, body) = t.start("production 5%").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sti_template_walks_to_completed_with_its_guardrails() {
    let w = world().await;
    let t = team(&w.app, "sti-backfill").await;
    to_production_5(&w, &t).await;
    t.tick_manual("production 5%").await;
    w.soak(&t, "production 5%", 24, WINDOW).await;
    t.approve("production 5%", 2).await;
    for phase in ["production 25%", "production 50%"] {
        assert_eq!(t.start(phase).await.0, 200);
        w.soak(&t, phase, 12, WINDOW).await;
        t.approve(phase, 1).await;
    }
    // The backup before the production backfill.
    t.tick_manual("production 100%").await;
    assert_eq!(t.start("production 100%").await.0, 200);
    for job in JOBS {
        t.run(job, "run", "production").await;
        assert_eq!(
            t.run(job, "verify", "production").await["result"]["coverage_full"],
            true
        );
    }
    t.tick_manual("production 100%").await;
    w.soak(&t, "production 100%", 24, WINDOW).await;
    t.approve("production 100%", 2).await;

    // The column drop: a backup, and coverage verified within the last day.
    t.tick_manual("drop legacy columns").await;
    let (status, body) = t.start("drop legacy columns").await;
    assert_eq!(status, 409, "the last verify is a day old: {body}");
    // A value changed after the backfill: the rows are all there, but the
    // drop would destroy the only right copy.
    sql(&w.targets, "UPDATE projects_schoolproject SET teacher_name = 'someone else' WHERE project_id = (SELECT min(project_id) FROM projects_schoolproject)").await;
    for job in JOBS {
        t.run(job, "verify", "production").await;
    }
    let (status, body) = t.start("drop legacy columns").await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("1 rows differ"), "{body}");
    sql(&w.targets, "UPDATE projects_schoolproject AS s SET teacher_name = p.teacher_name FROM projects_project AS p WHERE p.id = s.project_id").await;
    for job in JOBS {
        t.run(job, "verify", "production").await;
    }
    assert_eq!(t.start("drop legacy columns").await.0, 200);
    past_the_column_drop(&w, &t).await;
    t.tick_manual("drop legacy columns").await;
    t.approve("drop legacy columns", 2).await;
    let name = t.view().await["summary"]["name"].clone();
    // Completing asks for the plan's name.
    let (status, body) = t
        .plan
        .command(&t.olga, json!({"command": "complete"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_confirmed")),
        "{body}"
    );
    assert!(body.to_string().contains("confirm"), "{body}");
    let done = t
        .ok(&t.olga, json!({"command": "complete", "confirm": name}))
        .await;
    assert!(
        done["message"].as_str().unwrap().contains("kill switch"),
        "{done}"
    );
    let view = t.view().await;
    assert_eq!(
        view["summary"]["status"], "completed",
        "{}",
        view["summary"]
    );
    // Launched: the flag stays at 100 % and keeps its kill switch, which
    // after the column drop is marked unsafe.
    assert_eq!(World::flag_in(&view, "production")["exposure_bp"], 10_000);
    let kill = view["rollbacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "emergency")
        .unwrap();
    assert!(kill["unavailable"].is_null(), "{kill}");
    assert!(
        kill["unsafe_because"]
            .as_str()
            .is_some_and(|w| w.contains("drop legacy columns")),
        "{kill}"
    );
    // Every guardrail item was judged on readings, none skipped.
    let judged = World::guardrail_items(&view);
    assert!(
        judged.len() >= 8 && judged.iter().all(|i| i["evaluable"] == true),
        "{judged:?}"
    );
    w.app.stop().await;
}

/// With the legacy columns dropped: every rollback that would turn STI down
/// in production is marked unsafe with why, refused unless accepted, and a
/// breach makes the guardrail record and withhold its action.
async fn past_the_column_drop(w: &World, t: &Team<'_>) {
    let view = t.view().await;
    let unsafe_kinds: Vec<&str> = view["rollbacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["unsafe_because"].is_string())
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    // Standard leaves production at 100 % but would forget the drop ran.
    assert_eq!(
        unsafe_kinds,
        ["standard", "pause", "emergency", "abort", "entity"]
    );
    let name = view["summary"]["name"].clone();
    let pause = json!({"command": "rollback", "kind": "pause", "confirm": name,
        "reason": "latency", "entity": ""});
    let (status, body) = t.plan.command(&t.olga, pause).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("accept_irreversible")
            && body.to_string().contains("legacy columns"),
        "{body}"
    );
    w.error_spike(0.5, 0.01).await;
    let withheld = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT details FROM audit_events WHERE action = 'guardrail.action' \
             AND details LIKE '%withheld%'",
        )
        .fetch_optional(w.app.state.store.pool())
        .await
        .unwrap()
    };
    // Under load the 5xx share may take a while to reach Prometheus' 5m
    // rate: step on until the streak is long enough (each step is 30 s).
    for _ in 0..120 {
        if withheld().await.is_some() {
            break;
        }
        w.step(STEP_MS).await;
    }
    let details = withheld()
        .await
        .expect("the P0 guardrail withheld its action");
    assert!(details.contains("error_rate_p0"), "{details}");
    let view = t.view().await;
    assert_eq!(World::flag_in(&view, "production")["exposure_bp"], 10_000);
    assert_eq!(t.phase("drop legacy columns").await["status"], "active");
    w.error_spike(0.0, -1.0).await;
}

/// Seeds 000 and 002: a P0 turns STI off entirely (`ENABLE_STI` off), not
/// one step back: the template's P0 guardrail takes the emergency rollback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_spike_in_production_5_turns_the_flag_off_everywhere() {
    let w = world().await;
    let t = team(&w.app, "sti-backfill").await;
    to_production_5(&w, &t).await;
    // Half the requests fail: past the P0 line (1 % for 5 min, ten
    // readings 30 s apart).
    w.error_spike(0.5, 0.01).await;
    for _ in 0..40 {
        if t.view().await["summary"]["status"] != "active" {
            break;
        }
        w.step(STEP_MS).await;
    }
    let view = t.view().await;
    assert_eq!(
        view["summary"]["status"], "rolled_back",
        "{}",
        view["summary"]
    );
    // The kill switch off in every environment: nobody is on.
    for environment in ["dev", "staging", "production"] {
        let flag = World::flag_in(&view, environment);
        assert_eq!(flag["enabled"], false, "{environment}: {flag}");
    }
    assert!(
        view["summary"]["exposures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["exposure_bp"] == 0),
        "{}",
        view["summary"]
    );
    let (actor, reason): (String, String) = sqlx::query_as(
        "SELECT actor_kind, details FROM audit_events WHERE action = 'plan.rollback.emergency'",
    )
    .fetch_one(w.app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(actor, "system");
    assert!(
        reason.contains(r#"guardrail \"error_rate_p0\""#) && reason.contains("in production"),
        "{reason}"
    );
    w.app.stop().await;
}
