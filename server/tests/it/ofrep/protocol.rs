//! OFREP's answers as the spec gives them: every type with its value,
//! variant, reason and metadata; each failure with its status and code; the
//! bulk answer's ETag and 304; its event stream; the rate limit; CORS; the
//! counter in /metrics.
use std::time::Duration;

use app::access::{Role, Scope};
use serde_json::{json, Value};

use super::{advance, single, token, typed_plan};
use crate::common::{Fetch, PlanApi, TestApp, TestDb};

on_both_backends! {
    ofrep_answers_as_the_spec_says => answers;
}

const ONE: &str = "/ofrep/v1/evaluate/flags";

async fn answers(db: TestDb) {
    let app = TestApp::spawn_db_with(db, |c| {
        c.ofrep.cors_origins = vec!["http://shop.localhost:5173".into()];
        c.ofrep.requests_per_sec = 100_000;
        c.ofrep.burst = 100_000;
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let mut plans = Vec::new();
    for (name, flag, table) in super::typed() {
        let plan = PlanApi::import(&app, &olga, &typed_plan(name, flag, &table)).await;
        // Everyone on in dev: each type's "on" value.
        advance(&plan, &olga, 0).await;
        advance(&plan, &olga, 1).await;
        plans.push(plan);
    }
    let dev = token(&app, &[Scope::FlagsRead], Some("dev")).await;

    // Each type, as its clients require it: a float with its point, every
    // answer with a variant and a reason from the spec's set.
    let on = &on_everywhere(&app, &dev).await;
    let mut served = Vec::new();
    for (_, flag, _) in super::typed() {
        let (status, body) = single(&app, flag, &dev, json!({"targetingKey": on})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["key"], flag);
        assert_eq!(body["reason"], "SPLIT", "{body}");
        assert_eq!(body["metadata"]["environment"], "dev");
        assert_eq!(body["metadata"]["phase"], "dev 50%", "which phase set it");
        assert_eq!(body["metadata"]["exposureBp"], 5_000);
        assert!(
            body["metadata"]["bucket"].as_i64().unwrap() < 5_000,
            "{body}"
        );
        served.push((body["value"].to_string(), body["variant"].clone()));
    }
    assert_eq!(
        served,
        vec![
            ("true".to_string(), json!("on")),
            ("\"dark\"".to_string(), json!("dark-theme")),
            ("4".to_string(), json!("on")),
            ("1.0".to_string(), json!("on")),
            ("{\"banner\":true,\"columns\":4}".to_string(), json!("on")),
        ]
    );
    // Production has not started: off, DISABLED.
    let prod = token(&app, &[Scope::FlagsRead], Some("production")).await;
    let (status, body) = single(&app, "discount_ratio", &prod, json!({"targetingKey": on})).await;
    assert_eq!(
        (status, &body["reason"], body["value"].to_string()),
        (200, &json!("DISABLED"), "0.25".into())
    );
    assert!(body["metadata"].get("phase").is_none(), "{body}");

    // Failures: status, code, the key, and JSON every time.
    let res = app
        .client
        .post(app.url(&format!("{ONE}/nope")))
        .bearer_auth(&dev)
        .json(&json!({"context": {"targetingKey": on}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (&body["key"], &body["errorCode"]),
        (&json!("nope"), &json!("FLAG_NOT_FOUND"))
    );
    let code = |(status, body): (u16, Value)| {
        (status, body["errorCode"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        code(single(&app, "theme", &dev, json!({})).await),
        (400, "TARGETING_KEY_MISSING".into())
    );
    let (status, body) = app
        .client
        .post(app.url(&format!("{ONE}/theme")))
        .bearer_auth(&dev)
        .body("{not json")
        .answer()
        .await;
    assert_eq!(
        (status, &body["errorCode"], &body["key"]),
        (400, &json!("PARSE_ERROR"), &json!("theme"))
    );
    assert_eq!(
        code(
            single(
                &app,
                "theme",
                &dev,
                json!({"targetingKey": on, "environment": "moon"})
            )
            .await
        ),
        (400, "INVALID_CONTEXT".into())
    );
    let other_env = json!({"targetingKey": on, "environment": "production"});
    says(
        single(&app, "theme", &dev, other_env).await,
        403,
        "in dev only",
    );
    let reader = token(&app, &[Scope::PlansRead], None).await;
    assert_eq!(
        single(&app, "theme", &reader, json!({"targetingKey": on}))
            .await
            .0,
        403
    );
    let anonymous = app
        .client
        .post(app.url(&format!("{ONE}/theme")))
        .json(&json!({"context": {"targetingKey": on}}));
    says(anonymous.answer().await, 401, "X-API-Key");
    // X-API-Key works as the bearer does.
    let (status, body) = app
        .client
        .post(app.url(&format!("{ONE}/theme")))
        .header("x-api-key", &dev)
        .json(&json!({"context": {"targetingKey": on}}))
        .answer()
        .await;
    assert_eq!((status, &body["value"]), (200, &json!("dark")), "{body}");

    // Bulk: every flag, an ETag, 304 for the same; the event stream.
    let bulk = |etag: Option<String>| {
        let mut req = app
            .client
            .post(app.url(ONE))
            .bearer_auth(&dev)
            .json(&json!({"context": {"targetingKey": on}}));
        if let Some(tag) = etag {
            req = req.header("if-none-match", tag);
        }
        req.send()
    };
    let res = bulk(None).await.unwrap();
    assert_eq!(res.status(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    let keys: Vec<&Value> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["key"])
        .collect();
    assert_eq!(
        keys,
        [
            "columns",
            "discount_ratio",
            "layout",
            "new_checkout",
            "theme"
        ]
    );
    assert!(body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["variant"].is_string()));
    let stream_url = body["eventStreams"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(body["eventStreams"][0]["type"], "sse");
    let res = bulk(Some(etag.clone())).await.unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"], etag.as_str());
    assert!(res.bytes().await.unwrap().is_empty(), "304 has no body");

    let mut stream = app.client.get(&stream_url).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let forged = stream_url.replace("ticket=", "ticket=x");
    assert_eq!(app.client.get(&forged).send().await.unwrap().status(), 401);
    // An operator rolls dev back: the stream says refetch, the tag changes.
    let (status, body) = plans[4]
        .command(&olga, json!({"command": "rollback", "kind": "pause", "confirm": "Layout", "reason": "layout breaks on tablets", "entity": ""}))
        .await;
    assert_eq!(status, 200, "{body}");
    let event = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            let chunk = stream
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            let text = String::from_utf8_lossy(&chunk).to_string();
            if text.contains("data:") {
                return text;
            }
        }
    })
    .await
    .expect("a refetch event within 3 s of the change");
    assert!(event.contains("\"type\":\"refetchEvaluation\""), "{event}");
    let res = bulk(Some(etag.clone())).await.unwrap();
    assert_eq!(res.status(), 200, "the flags changed: a new answer");
    let body: Value = res.json().await.unwrap();
    let layout = super::entry(&body, "layout");
    assert_eq!(layout["value"], json!({"columns": 3}), "{layout}");
    assert_eq!(layout["metadata"]["phase"], "rollback");

    // CORS: the configured origin may read the answer and its ETag.
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(ONE))
        .header("origin", "http://shop.localhost:5173")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,if-none-match",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://shop.localhost:5173"
    );
    let res = bulk(None).await.unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "no Origin, no CORS"
    );
    let res = app
        .client
        .post(app.url(ONE))
        .bearer_auth(&dev)
        .header("origin", "http://evil.localhost")
        .json(&json!({"context": {"targetingKey": on}}))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "another origin may not read it"
    );

    // Counted by flag, environment and reason.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics
            .contains(r#"flag_evaluations_total{environment="dev",flag="theme",reason="SPLIT"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"flag="(unknown)""#),
        "unknown keys share one label"
    );

    // What a flag serves is fixed once its plan is active.
    let (status, body) = plans[1]
        .edit(
            &olga,
            None,
            &typed_plan(
                "Theme",
                "theme",
                "[flag]\ntype = \"string\"\non = \"neon\"\noff = \"light\"\n",
            ),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        crate::common::error_of(&body).contains("what the flag serves is fixed"),
        "{body}"
    );
    app.stop().await;
}

/// A refusal with `status` whose `errorDetails` contain `text`.
#[track_caller]
fn says((status, body): (u16, Value), expected: u16, text: &str) {
    assert_eq!(status, expected, "{body}");
    let details = body["errorDetails"].as_str().unwrap_or_default();
    assert!(details.contains(text), "{body}");
}

/// An entity whose bucket is below 50 % for every flag of `typed()`, found
/// through the evaluate endpoint (the salts are the plans' own).
pub async fn on_everywhere(app: &TestApp, dev: &str) -> String {
    for i in 0..2_000 {
        let entity = format!("org-{i}");
        let mut all = true;
        for (_, flag, _) in super::typed() {
            let (_, body) = super::evaluate(app, dev, flag, &entity).await;
            all &= body["bucket"].as_i64().unwrap() < 5_000;
        }
        if all {
            return entity;
        }
    }
    panic!("no entity in the lower half of five buckets among 2,000");
}

/// Over its limit a token is answered 429 with Retry-After, and served
/// again once that has passed; other tokens are not held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_rate_limit_waits_as_retry_after_says() {
    let app = TestApp::spawn_with(crate::common::Backend::Sqlite, |c| {
        c.ofrep.requests_per_sec = 1;
        c.ofrep.burst = 2;
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    PlanApi::import(&app, &olga, &typed_plan("Boolean", "new_checkout", "")).await;
    let dev = token(&app, &[Scope::FlagsRead], Some("dev")).await;
    let other = token(&app, &[Scope::FlagsRead], Some("dev")).await;
    let ask = |secret: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url(&format!("{ONE}/new_checkout")))
                .bearer_auth(secret)
                .json(&json!({"context": {"targetingKey": "org-1"}}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(ask(dev.clone()).await.status(), 200);
    assert_eq!(ask(dev.clone()).await.status(), 200);
    let limited = ask(dev.clone()).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(limited.headers()["content-type"], "application/json");
    assert_eq!(ask(other).await.status(), 200, "its own bucket");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(ask(dev).await.status(), 200);
    app.stop().await;
}

/// A change this process did not make (another instance, the CLI: here a
/// write straight to the store) reaches evaluations within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_elsewhere_reaches_evaluations_within_a_second() {
    let app = TestApp::spawn(crate::common::Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(&app, &olga, &typed_plan("Boolean", "new_checkout", "")).await;
    advance(&plan, &olga, 0).await;
    let dev = token(&app, &[Scope::FlagsRead], Some("dev")).await;
    let exposure = || async {
        let (status, body) =
            single(&app, "new_checkout", &dev, json!({"targetingKey": "org-1"})).await;
        assert_eq!(status, 200, "{body}");
        body["metadata"]["exposureBp"].as_i64().unwrap()
    };
    assert_eq!(exposure().await, 1_000);
    sqlx::query("UPDATE flag_states SET exposure_bp = 0 WHERE environment = 'dev'")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let changed = std::time::Instant::now();
    while exposure().await != 0 {
        assert!(
            changed.elapsed() < Duration::from_millis(1_000),
            "not seen within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;
}
