//! Environments as first-class, on both store backends: a phase changes only
//! its own environment's flag state, evaluations name their environment (a
//! token is bound to one), standard rollback returns the running phase's
//! environment to where it was before the phase and raises nothing, pause at
//! 0 % and resume, and a single-organisation rollback that can be undone.
use crate::common;
use crate::common::Fetch;

use crate::common::{TestApp, TestDb};
use app::access::{Role, Scope};
use serde_json::{json, Value};
use server::audit::{Actor, ClientInfo};
use server::auth::tokens;
use server::flags::bucketing::{bucket, evaluate};

use crate::common::fixtures::ENVIRONMENTS as PLAN;

struct Walk {
    app: TestApp,
    olga: reqwest::Client,
    id: String,
}

impl Walk {
    async fn command(&self, cmd: Value) -> (u16, Value) {
        self.olga
            .post(self.app.url(&format!("/api/v1/plans/{}/commands", self.id)))
            .json(&cmd)
            .answer()
            .await
    }

    async fn view(&self) -> Value {
        self.olga
            .get(self.app.url(&format!("/api/v1/plans/{}", self.id)))
            .body_json()
            .await
    }

    async fn phase_id(&self, i: usize) -> String {
        self.view().await["phases"][i]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Starts phase `i` and passes its gate (no approvals needed).
    async fn advance(&self, i: usize) {
        let phase_id = self.phase_id(i).await;
        let (status, body) = self
            .command(json!({"command": "start_phase", "phase_id": phase_id}))
            .await;
        assert_eq!(status, 200, "start {i}: {body}");
        let (status, body) = self
            .command(json!({"command": "request_approval", "phase_id": phase_id}))
            .await;
        assert_eq!(status, 200, "request {i}: {body}");
    }

    /// The flag's rule in `environment`, through the same cache the
    /// evaluate endpoint uses.
    async fn rule(&self, environment: &str) -> server::flags::bucketing::FlagRule {
        self.app
            .state
            .flag_cache
            .get(&self.app.state.store, "env_walk", environment)
            .await
            .unwrap()
            .unwrap()
    }

    /// Which of `ids` evaluate on in `environment`.
    async fn on(&self, environment: &str, ids: &[String]) -> Vec<String> {
        let rule = self.rule(environment).await;
        ids.iter()
            .filter(|id| evaluate("env_walk", &rule, id).value)
            .cloned()
            .collect()
    }

    /// Which of `ids` fall in a bucket below `bp` for this flag's salt in
    /// `environment`: who a `bp` exposure must turn on, no more, no fewer.
    async fn below(&self, environment: &str, bp: u16, ids: &[String]) -> Vec<String> {
        let salt = self.rule(environment).await.salt;
        ids.iter()
            .filter(|id| bucket("env_walk", &salt, id) < bp)
            .cloned()
            .collect()
    }

    /// The effective exposure in each environment, as the plan page shows it.
    async fn exposures(&self) -> Vec<(String, i64)> {
        self.view().await["flag"]["environments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let bp = if e["enabled"] == true {
                    e["exposure_bp"].as_i64().unwrap()
                } else {
                    0
                };
                (e["environment"].as_str().unwrap().to_string(), bp)
            })
            .collect()
    }

    fn rollback(kind: &str, entity: &str) -> Value {
        json!({"command": "rollback", "kind": kind, "confirm": "Env walk", "reason": "test", "entity": entity})
    }
}

async fn walk(db: TestDb) -> Walk {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let id = crate::common::PlanApi::import(&app, &olga, PLAN).await.id;
    // A new flag's salt is random; fixed here (before anything reads the
    // flag) so that the share a percentage turns on is one known number.
    sqlx::query("UPDATE flags SET salt = 'env-walk-fixed' WHERE key = 'env_walk'")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    Walk { app, olga, id }
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(e, bp)| (e.to_string(), *bp)).collect()
}

on_both_backends! {
    each_environment_has_its_own_exposure_and_rollback_never_raises_one => phases_change_only_their_environment;
    evaluation_names_its_environment_and_a_token_is_bound_to_one => tokens_are_bound;
}

async fn phases_change_only_their_environment(db: TestDb) {
    let w = walk(db).await;
    let ids: Vec<String> = (0..10_000).map(|i| format!("org-{i}")).collect();

    w.advance(0).await;
    assert_eq!(w.on("dev", &ids).await.len(), 10_000, "dev is at 100 %");
    assert!(
        w.on("production", &ids).await.is_empty(),
        "production stays off"
    );
    assert!(w.on("staging", &ids).await.is_empty());

    w.advance(1).await;
    w.advance(2).await;
    let five = w.on("production", &ids).await;
    assert_eq!(five, w.below("production", 500, &ids).await, "5 %");
    w.advance(3).await;
    let ten = w.on("production", &ids).await;
    assert_eq!(ten, w.below("production", 1000, &ids).await, "10 %");
    assert!((450..=550).contains(&five.len()), "5 %: {}", five.len());
    assert!((950..=1050).contains(&ten.len()), "10 %: {}", ten.len());
    assert!(
        five.iter().all(|id| ten.contains(id)),
        "raising 5 % → 10 % keeps everyone who was on"
    );
    assert_eq!(
        w.exposures().await,
        pairs(&[("dev", 10_000), ("staging", 10_000), ("production", 1000)])
    );

    // The preview says what standard rollback does, before it is done.
    let view = w.view().await;
    let standard = view["rollbacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "standard")
        .unwrap()
        .clone();
    assert_eq!(
        standard["changes"],
        json!([
            {"environment": "dev", "before_bp": 10_000, "after_bp": 10_000, "allowed_before": 0, "allowed_after": 0},
            {"environment": "staging", "before_bp": 10_000, "after_bp": 10_000, "allowed_before": 0, "allowed_after": 0},
            {"environment": "production", "before_bp": 1000, "after_bp": 500, "allowed_before": 0, "allowed_after": 0},
        ])
    );

    // Standard rollback of production 10 %: production back to its own 5 %.
    let (status, body) = w.command(Walk::rollback("standard", "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.exposures().await,
        pairs(&[("dev", 10_000), ("staging", 10_000), ("production", 500)])
    );
    assert_eq!(
        w.on("production", &ids).await,
        five,
        "the same 5 % as before"
    );
    // …and of production 5 %: production to 0, dev and staging as they were.
    let (status, body) = w.command(Walk::rollback("standard", "")).await;
    assert_eq!(status, 200, "{body}");
    let view = w.view().await;
    assert_eq!(view["summary"]["status"], "active", "still resumable");
    assert_eq!(
        view["phases"][1]["status"], "approved",
        "staging runs again"
    );
    assert_eq!(
        w.exposures().await,
        pairs(&[("dev", 10_000), ("staging", 10_000), ("production", 0)])
    );
    // A standard rollback of staging now lowers staging only.
    let (status, body) = w.command(Walk::rollback("standard", "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.exposures().await,
        pairs(&[("dev", 10_000), ("staging", 0), ("production", 0)])
    );

    // Pause at 0 % keeps the plan active; resume restores the phase's exposure.
    w.advance(1).await;
    let (status, body) = w.command(Walk::rollback("pause", "")).await;
    assert_eq!(status, 200, "{body}");
    assert!(w.on("staging", &ids).await.is_empty(), "paused at 0 %");
    assert_eq!(w.view().await["summary"]["status"], "active");
    let (status, body) = w
        .command(json!({"command": "resume", "reason": "error rate is back to normal"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.on("staging", &ids).await.len(), 10_000);

    // One organisation alone, everywhere; and restored, audited.
    let (status, body) = w.command(Walk::rollback("entity", "org-42")).await;
    assert_eq!(status, 200, "{body}");
    for env in ["dev", "staging"] {
        assert!(
            !w.on(env, &ids).await.contains(&"org-42".to_string()),
            "{env}"
        );
    }
    let (status, body) = w
        .command(json!({"command": "restore", "entity": "org-42", "reason": ""}))
        .await;
    assert_eq!(status, 400, "a restore says why: {body}");
    let (status, body) = w
        .command(json!({"command": "restore", "entity": "org-42", "reason": "fixed their data"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        w.on("dev", &ids).await.contains(&"org-42".to_string()),
        "on again"
    );
    let (status, _) = w
        .command(json!({"command": "restore", "entity": "org-42", "reason": "again"}))
        .await;
    assert_eq!(status, 409, "nothing left to restore");

    // Emergency turns every environment off.
    let (status, body) = w.command(Walk::rollback("emergency", "")).await;
    assert_eq!(status, 200, "{body}");
    for env in ["dev", "staging", "production"] {
        assert!(w.on(env, &ids).await.is_empty(), "{env} is off");
    }

    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events WHERE subject = $1 ORDER BY seq")
            .bind(format!("plan:{}", w.id))
            .fetch_all(w.app.state.store.pool())
            .await
            .unwrap();
    for a in ["plan.pause", "plan.resume", "flag.deny", "flag.restore"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    w.app.stop().await;
}

async fn tokens_are_bound(db: TestDb) {
    let w = walk(db).await;
    w.advance(0).await;
    let store = &w.app.state.store;
    let envs = common::environments();
    let (actor, client) = (Actor::System, ClientInfo::default());
    let (actor, client, envs) = (&actor, &client, &envs);
    let make = |env: Option<&'static str>| async move {
        tokens::create(store, actor, client, "app", &[Scope::FlagsRead], env, envs).await
    };
    let err = make(None).await.err().unwrap().to_string();
    assert!(err.contains("evaluates them in one environment"), "{err}");
    let err = make(Some("prod")).await.err().unwrap().to_string();
    assert!(err.contains("not one of"), "{err}");
    let dev = make(Some("dev")).await.unwrap().secret;
    let eval = |secret: String, query: &'static str| {
        let app = &w.app;
        async move {
            let res = app
                .client
                .get(app.url(&format!(
                    "/api/v1/flags/env_walk/evaluate?entity=org-1{query}"
                )))
                .bearer_auth(secret)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = eval(dev.clone(), "").await;
    assert_eq!((status, &body["value"]), (200, &json!(true)), "{body}");
    assert_eq!(body["environment"], "dev");
    let (status, body) = eval(dev.clone(), "&environment=dev").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = eval(dev, "&environment=production").await;
    assert_eq!(status, 403, "a dev token cannot read production: {body}");
    assert!(
        crate::common::error_of(&body).contains("dev only"),
        "{body}"
    );
    // A person (the console) names the environment each time.
    let res = w
        .olga
        .get(w.app.url("/api/v1/flags/env_walk/evaluate?entity=org-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = w
        .olga
        .get(
            w.app
                .url("/api/v1/flags/env_walk/evaluate?entity=org-1&environment=production"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["value"], false);
    w.app.stop().await;
}

on_both_backends! {
    a_store_from_before_environments_migrates_and_evaluates_as_before => migrates_as_before;
}

/// A store at migration 6 (one flag state for every environment) with a
/// plan running "production 5%" (one organisation denied) migrates and
/// evaluates exactly as before in production; the other environments start
/// off, which only lowers exposure.
async fn migrates_as_before(db: TestDb) {
    use std::borrow::Cow;
    let store = db.connect().await;
    let mut old = match store.backend() {
        app::dto::StoreBackend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
        app::dto::StoreBackend::Postgres => sqlx::migrate!("../migrations/postgres"),
    };
    old.migrations = Cow::Owned(
        old.migrations
            .iter()
            .filter(|m| m.version <= 6)
            .cloned()
            .collect(),
    );
    old.run(store.pool()).await.unwrap();
    let statements = [
        "INSERT INTO plans (id, name, description, flag_key, status, source_toml, revision, \
         created_by, created_at_ms, updated_at_ms) VALUES ('p1', 'Env walk', '', 'env_walk', \
         'active', $1, 5, 'olga', 1, 2)",
        "INSERT INTO phases (id, plan_id, position, name, environment, exposure_bp, notes, \
         approvals_required, approver_roles, soak_ms, status, started_at_ms, done_at_ms) VALUES \
         ('ph0', 'p1', 0, 'dev', 'dev', 10000, '', 0, 'approver', 0, 'done', 1, 2), \
         ('ph1', 'p1', 1, 'staging', 'staging', 10000, '', 0, 'approver', 0, 'done', 1, 2), \
         ('ph2', 'p1', 2, 'production 5%', 'production', 500, '', 0, 'approver', 0, 'active', 2, NULL), \
         ('ph3', 'p1', 3, 'production 10%', 'production', 1000, '', 0, 'approver', 0, 'pending', NULL, NULL)",
        "INSERT INTO flags (key, plan_id, enabled, exposure_bp, allow_list, deny_list, salt, \
         updated_at_ms) VALUES ('env_walk', 'p1', 1, 500, '[]', '[\"org-3\"]', 'salt-1', 2)",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(PLAN)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let rule = server::flags::bucketing::FlagRule {
        enabled: true,
        basis_points: 500,
        allow: Default::default(),
        deny: ["org-3".to_string()].into_iter().collect(),
        salt: "salt-1".into(),
    };
    let ids: Vec<String> = (0..10_000).map(|i| format!("org-{i}")).collect();
    let before: Vec<bool> = ids
        .iter()
        .map(|id| evaluate("env_walk", &rule, id).value)
        .collect();
    assert!(before.iter().filter(|v| **v).count() > 400);

    store.migrate().await.unwrap();
    let cache = server::flags::cache::FlagCache::default();
    let now = |env: &'static str| {
        let (cache, store) = (&cache, &store);
        async move { cache.get(store, "env_walk", env).await.unwrap().unwrap() }
    };
    let production = now("production").await;
    let after: Vec<bool> = ids
        .iter()
        .map(|id| evaluate("env_walk", &production, id).value)
        .collect();
    assert_eq!(before, after, "production evaluates exactly as before");
    assert!(
        !evaluate("env_walk", &production, "org-3").value,
        "still denied"
    );
    for env in ["dev", "staging"] {
        let rule = now(env).await;
        assert!(
            ids.iter().all(|id| !evaluate("env_walk", &rule, id).value),
            "{env} off"
        );
    }
    // The plan itself loads on the new model, its running phase unchanged.
    let plans = server::plans::PlanService::new(
        store.clone(),
        server::events::PlanEvents::default(),
        cache.clone(),
    );
    let summaries = plans.summaries().await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].current_phase.as_deref(), Some("production 5%"));
    let production_now = summaries[0]
        .exposures
        .iter()
        .find(|e| e.environment == "production")
        .unwrap();
    assert_eq!(production_now.exposure_bp, 500);
    // org-3 was denied everywhere before; it stays denied wherever the plan
    // goes next, though only production kept a state row.
    let mut conn = store.pool().acquire().await.unwrap();
    let flag = server::flags::store::of_plan(&mut conn, "p1")
        .await
        .unwrap();
    for env in ["dev", "staging"] {
        assert_eq!(flag.state(env).deny, vec!["org-3".to_string()], "{env}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_plan_can_be_aborted_but_not_rolled_back() {
    let w = walk(TestDb::new(common::Backend::Sqlite).await).await;
    let (status, body) = w.command(Walk::rollback("standard", "")).await;
    assert_eq!(status, 409, "nothing runs: {body}");
    let (status, body) = w.command(Walk::rollback("abort", "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(w.view().await["summary"]["status"], "aborted");
    w.app.stop().await;
}
