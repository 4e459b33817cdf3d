//! A rollout team driving a plan through the API: an operator (olga) and
//! two approvers (ann, ben), with the helpers the template walks share, and
//! a seed-shaped PostgreSQL `demo` target.
use crate::common::Fetch;
use std::collections::BTreeMap;

use super::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};
use server::backfill::{demo, target};
use server::config::TargetConfig;

pub const HOUR: i64 = 3_600_000;

pub struct Team<'a> {
    pub plan: PlanApi<'a>,
    pub olga: reqwest::Client,
    pub ann: reqwest::Client,
    pub ben: reqwest::Client,
}

impl Team<'_> {
    pub async fn view(&self) -> Value {
        self.plan.view(&self.olga).await
    }

    pub async fn phase(&self, name: &str) -> Value {
        self.view().await["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no phase {name:?}"))
            .clone()
    }

    pub async fn ok(&self, who: &reqwest::Client, cmd: Value) -> Value {
        let (status, body) = self.plan.command(who, cmd.clone()).await;
        assert_eq!(status, 200, "{cmd} → {body}");
        body
    }

    /// Ticks the phase's manual items (its entry criteria while it is
    /// pending, else its checklist), as the operator.
    pub async fn tick_manual(&self, phase: &str) {
        let p = self.phase(phase).await;
        let entry = p["status"] == "pending";
        for item in p["checklist"].as_array().unwrap() {
            if item["kind"] == "manual" && item["entry"] == entry && item["met"] == false {
                let id = &item["id"];
                let cmd =
                    json!({"command": "tick", "item_id": id, "ticked": true, "comment": "checked"});
                self.ok(&self.olga, cmd).await;
            }
        }
    }

    pub async fn start(&self, phase: &str) -> (u16, Value) {
        let id = self.phase(phase).await["id"].clone();
        self.plan
            .command(
                &self.olga,
                json!({"command": "start_phase", "phase_id": id}),
            )
            .await
    }

    /// The checks of the phase's automatic checklist items that are unmet.
    pub async fn unmet(&self, phase: &str) -> Vec<String> {
        let p = self.phase(phase).await;
        p["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["entry"] == false && i["met"] == false)
            .map(|i| i["check"].as_str().unwrap_or("manual").to_string())
            .collect()
    }

    /// Asserts that every item of `phase` is met.
    pub async fn assert_all_met(&self, phase: &str) {
        let unmet = self.unmet(phase).await;
        assert!(unmet.is_empty(), "{phase}: {unmet:?}");
    }

    /// Requests approval of `phase` and has `approvals` approvers approve it
    /// on the evidence they see.
    pub async fn approve(&self, phase: &str, approvals: usize) {
        let id = self.phase(phase).await["id"].clone();
        self.ok(
            &self.olga,
            json!({"command": "request_approval", "phase_id": id}),
        )
        .await;
        for who in [&self.ann, &self.ben].into_iter().take(approvals) {
            let evidence = self.phase(phase).await["evidence_hash"].clone();
            let cmd = json!({"command": "decide", "phase_id": id, "verdict": "approve", "comment": "evidence reviewed", "evidence": evidence});
            self.ok(who, cmd).await;
        }
        assert_eq!(self.phase(phase).await["status"], "approved");
    }

    pub async fn run(&self, job: &str, mode: &str, environment: &str) -> Value {
        let body = json!({"mode": mode, "environment": environment});
        self.plan.run_to_end(&self.olga, job, body).await
    }

    /// The team drops the metric guardrail items (not evaluable before the
    /// guardrails exist) through a change request two approvers accept.
    pub async fn drop_guardrails(&self) {
        let source: String = self
            .olga
            .get(
                self.plan
                    .app
                    .url(&format!("/api/v1/plans/{}/source", self.plan.id)),
            )
            .body_text()
            .await;
        let mut kept = Vec::new();
        for block in source.split("[[phases.checklist]]\n") {
            let guardrail = block.starts_with("kind = \"auto\"\ncheck = \"guardrail_");
            if guardrail {
                // Keep what follows the item (a following [[phases]] table).
                let rest = block.splitn(4, '\n').nth(3).unwrap_or("");
                kept.push(format!("\u{0}{rest}"));
            } else {
                kept.push(block.to_string());
            }
        }
        let mut out = kept[0].clone();
        for block in &kept[1..] {
            match block.strip_prefix('\u{0}') {
                Some(rest) => out.push_str(rest),
                None => {
                    out.push_str("[[phases.checklist]]\n");
                    out.push_str(block);
                }
            }
        }
        assert!(!out.contains("guardrail_"), "every guardrail item removed");
        let (status, body) = self.plan.edit(&self.olga, None, &out).await;
        assert_eq!(status, 202, "a weakening waits for approval: {body}");
        let change = body["pending_change"].clone();
        for who in [&self.ann, &self.ben] {
            let cmd = json!({"command": "decide_change", "change_id": change, "verdict": "approve", "comment": "until the guardrails land"});
            let (status, body) = self.plan.command(who, cmd).await;
            assert_eq!(status, 200, "{body}");
            if self.view().await["change_request"].is_null() {
                break;
            }
        }
        assert!(self.view().await["change_request"].is_null(), "applied");
        assert!(!self.view().await.to_string().contains("guardrail_"));
    }
}

/// A PostgreSQL target named `demo` (the templates' target), seeded.
pub async fn demo_target(rows: i64) -> (TestDb, BTreeMap<String, TargetConfig>) {
    let db = TestDb::new(Backend::Postgres).await;
    let targets = crate::common::targets::one("demo", &db.database_url(), None, true);
    let t = target::connect(&targets, "demo").await.unwrap();
    demo::seed(&t.pool, t.backend(), rows).await.unwrap();
    t.close().await;
    (db, targets)
}

pub async fn team<'a>(app: &'a TestApp, template: &str) -> Team<'a> {
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let path = format!("{}/templates/{template}.toml", env!("CARGO_MANIFEST_DIR"));
    Team {
        plan: PlanApi::import(app, &olga, &std::fs::read_to_string(path).unwrap()).await,
        olga,
        ann: app.signed_in("ann", &[Role::Approver]).await,
        ben: app.signed_in("ben", &[Role::Approver]).await,
    }
}

pub async fn sql(targets: &BTreeMap<String, TargetConfig>, statement: &str) -> i64 {
    let t = target::connect(targets, "demo").await.unwrap();
    let n = if statement.starts_with("SELECT") {
        sqlx::query_scalar(statement)
            .fetch_one(&t.pool)
            .await
            .unwrap()
    } else {
        sqlx::query(statement)
            .execute(&t.pool)
            .await
            .unwrap()
            .rows_affected() as i64
    };
    t.close().await;
    n
}

/// A console whose `demo` target is a seeded PostgreSQL database.
pub async fn console_on_demo_target() -> (TestApp, TestDb, BTreeMap<String, TargetConfig>) {
    let (target, targets) = demo_target(20_000).await;
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets.clone())
    })
    .await;
    (app, target, targets)
}

/// A SQLite database configured as target `t`, with `setup` run on it, and
/// the console served over a fresh SQLite store that has it; the target's
/// database lives as long as the returned `TestDb`.
pub async fn console_with_sqlite_target(setup: &[&str]) -> (TestApp, target::Target, TestDb) {
    let db = TestDb::new(Backend::Sqlite).await;
    let targets = BTreeMap::from([(
        "t".to_string(),
        TargetConfig {
            url: Some(db.database_url()),
            ..TargetConfig::default()
        },
    )]);
    let t = target::connect(&targets, "t").await.unwrap();
    for sql in setup {
        sqlx::query(sql).execute(&t.pool).await.unwrap();
    }
    let app = TestApp::spawn_db_with(TestDb::new(Backend::Sqlite).await, |c| {
        c.targets.extend(targets)
    })
    .await;
    (app, t, db)
}
