//! Evidence with provenance, on both store backends: every run records its
//! target and environment; a phase's automatic items judge only runs for its
//! environment (a dev dry-run is no "production dry-run clean"); a job runs
//! on its target for that environment, never on a target that holds another
//! environment's data; a live run needs a clean dry-run on its target and
//! may be limited to some phases, unless an operator overrides with a
//! reason, which is audited.
use crate::common::refused;
use std::collections::BTreeMap;

use crate::common::error_of;
use crate::common::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};
use server::backfill::{demo, target};
use server::config::TargetConfig;

use crate::common::fixtures::PROVENANCE as PLAN;

on_both_backends! {
    evidence_counts_only_where_it_ran_and_live_runs_need_a_clean_dry_run => provenance;
}

async fn provenance(db: TestDb) {
    let (dev_db, prod_db) = (
        TestDb::new(Backend::Sqlite).await,
        TestDb::new(Backend::Sqlite).await,
    );
    let targets = [
        ("dev_db", &dev_db, None),
        ("prod_db", &prod_db, Some("production".to_string())),
    ]
    .map(|(name, db, environment)| {
        (
            name.to_string(),
            TargetConfig {
                url: Some(db.database_url()),
                url_env: None,
                allow_superuser: true,
                environment,
            },
        )
    });
    for (name, _) in &targets {
        let all = targets.iter().cloned().collect();
        let t = target::connect(&all, name).await.unwrap();
        demo::seed(&t.pool, t.backend(), 2_000).await.unwrap();
    }
    let app = TestApp::spawn_db_with(db, |c| c.targets.extend(targets.clone())).await;
    walk(&app, &targets.into_iter().collect()).await;
    app.stop().await;
}

struct Jobs<'a> {
    plan: PlanApi<'a>,
    olga: reqwest::Client,
}

impl Jobs<'_> {
    async fn start(&self, job: &str, body: Value) -> (u16, Value) {
        self.plan.start_run(&self.olga, job, body).await
    }

    async fn finished(&self, job: &str, body: Value) -> Value {
        self.plan.run_to_end(&self.olga, job, body).await
    }

    async fn phase_command(&self, command: &str, i: usize) -> (u16, Value) {
        let phase_id = self.plan.phase(&self.olga, i).await["id"].clone();
        self.plan
            .command(
                &self.olga,
                json!({"command": command, "phase_id": phase_id}),
            )
            .await
    }
}

async fn overrides(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'backfill.override' ORDER BY seq",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap()
}

async fn walk(app: &TestApp, targets: &BTreeMap<String, TargetConfig>) {
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let jobs = Jobs {
        plan: PlanApi::import(app, &olga, PLAN).await,
        olga,
    };
    let (status, body) = jobs.phase_command("start_phase", 0).await;
    assert_eq!(status, 200, "{body}");

    // A run without an environment is for the current phase's, on the
    // job's target there.
    let dry = jobs.finished("school", json!({"mode": "dry_run"})).await;
    assert_eq!(
        (&dry["environment"], &dry["target"]),
        (&json!("dev"), &json!("dev_db"))
    );

    // A dev dry-run is no evidence for production: its entry item is unmet.
    let (status, body) = jobs.phase_command("request_approval", 0).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = jobs.phase_command("start_phase", 1).await;
    assert_eq!(status, 409, "{body}");
    let e = error_of(&body);
    assert!(
        e.contains("\"Production dry-run clean\"") && e.contains("no dry-run for production yet"),
        "{e}"
    );

    // A target that holds production's data serves no other environment.
    refused(
        jobs.start("mirror", json!({"mode": "verify", "environment": "dev"}))
            .await,
        400,
        "\"prod_db\" holds production's data",
    );
    refused(
        jobs.start(
            "mirror",
            json!({"mode": "run", "environment": "production"}),
        )
        .await,
        400,
        "verify-only",
    );
    refused(
        jobs.start("school", json!({"mode": "dry_run", "environment": "moon"}))
            .await,
        400,
        "not one of the console's environments",
    );

    // A live run for production now: outside its phase and without a clean
    // dry-run on prod_db; both are named and nothing runs.
    let (status, body) = jobs
        .start(
            "school",
            json!({"mode": "run", "environment": "production"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let e = error_of(&body);
    assert!(
        e.contains("runs live only in phase \"production 100%\"; the current phase is \"dev\""),
        "{e}"
    );
    assert!(
        e.contains("no clean dry-run on target \"prod_db\" for production"),
        "{e}"
    );

    // The production dry-run runs on prod_db; the demo data has rows that
    // break a constraint, so it is not clean and the phase stays shut.
    let dry = jobs
        .finished(
            "school",
            json!({"mode": "dry_run", "environment": "production"}),
        )
        .await;
    assert_eq!(
        (&dry["environment"], &dry["target"]),
        (&json!("production"), &json!("prod_db"))
    );
    assert!(dry["errors"].as_i64().unwrap() > 0, "{dry}");
    refused(
        jobs.phase_command("start_phase", 1).await,
        409,
        "failing keys",
    );

    // The data is fixed on production, the dry-run is clean, the phase opens.
    let prod = target::connect(targets, "prod_db").await.unwrap();
    sqlx::query("UPDATE projects_project SET course_code = 'FIXED' WHERE course_code IS NULL")
        .execute(&prod.pool)
        .await
        .unwrap();
    let dry = jobs
        .finished(
            "school",
            json!({"mode": "dry_run", "environment": "production"}),
        )
        .await;
    assert_eq!(dry["errors"], 0, "{dry}");
    let (status, body) = jobs.phase_command("start_phase", 1).await;
    assert_eq!(status, 200, "{body}");
    let entry = &jobs.plan.phase(&jobs.olga, 1).await["checklist"][0];
    assert_eq!(entry["met"], true, "{entry}");

    // A live run for dev while production rolls out: refused, then
    // overridden with a reason, which the audit trail keeps.
    refused(
        jobs.start("school", json!({"mode": "run", "environment": "dev"}))
            .await,
        409,
        "rolls out in production; this run is for dev",
    );
    assert!(overrides(app).await.is_empty());
    let run = jobs
        .finished(
            "school",
            json!({"mode": "run", "environment": "dev", "override_reason": "rehearse the live run on dev data"}),
        )
        .await;
    assert_eq!(run["target"], "dev_db");
    let audited = overrides(app).await;
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0].contains("rehearse the live run on dev data")
            && audited[0].contains("this run is for dev"),
        "{}",
        audited[0]
    );

    // In its phase, after a clean dry-run on its target: no override needed.
    let run = jobs.finished("school", json!({"mode": "run"})).await;
    assert_eq!(
        (&run["environment"], &run["target"]),
        (&json!("production"), &json!("prod_db"))
    );
    assert!(run["created"].as_i64().unwrap() > 0, "{run}");
    assert_eq!(overrides(app).await.len(), 1);
}
