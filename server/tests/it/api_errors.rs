//! The REST API's error answers, which the OpenAPI document promises and
//! schemathesis (end2end/tests/api_contract.test.mjs) checks by fuzzing:
//! every one JSON of one shape, `{"error": "…", "code": "…"}`, whoever answers — the
//! handlers, axum's own rejections, an unknown path, a method a path does
//! not take — and every error answer documented with that shape.
use app::access::Role;
use serde_json::Value;

use crate::common::{Backend, TestApp};

/// Sends `req`; its status and error message, checking the one shape.
async fn error_of(req: reqwest::RequestBuilder) -> (u16, String) {
    error_in(req.send().await.unwrap()).await
}

async fn error_in(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "status {status}: one error shape"
    );
    let body: Value = res.json().await.unwrap();
    // Beside the message, the stable code a client branches on.
    let codes: &[&str] = match status {
        400 => &["invalid"],
        401 => &["unauthenticated"],
        403 => &["forbidden"],
        404 => &["not_found"],
        405 => &["method_not_allowed"],
        409 => &[
            "stale_revision",
            "lost_race",
            "already_exists",
            "wrong_state",
            "not_confirmed",
        ],
        413 => &["too_large"],
        415 => &["unsupported_media_type"],
        other => panic!("no code expected for {other}: {body}"),
    };
    assert!(
        codes.iter().any(|c| body["code"] == *c),
        "status {status}: one of {codes:?}: {body}"
    );
    (status, body["error"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_json_of_one_documented_shape() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let runs = app.url("/api/v1/plans/nope/jobs/school/runs");

    // No such endpoint, and a method a path does not take (Allow kept).
    let (status, error) = error_of(olga.get(app.url("/api/v1/nowhere"))).await;
    assert_eq!(
        (status, error.as_str()),
        (
            404,
            "no such endpoint: GET /api/v1/nowhere; the API is described at /api/v1/openapi.json"
        )
    );
    let res = olga.delete(app.url("/api/v1/plans")).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET,HEAD,POST");
    let (status, error) = error_in(res).await;
    assert_eq!(status, 405);
    assert!(error.contains("does not take DELETE"), "{error}");

    // Bodies: not JSON, not an object, the wrong shape, no content type.
    let send = |body: &'static str, json: bool| {
        let req = olga.post(&runs).body(body);
        if json {
            req.header("content-type", "application/json")
        } else {
            req
        }
    };
    let (status, error) = error_of(send("{not json", true)).await;
    assert_eq!(status, 400);
    assert!(error.starts_with("body:"), "{error}");
    let (status, error) = error_of(send("[]", true)).await;
    assert_eq!((status, error.as_str()), (400, "body: send a JSON object"));
    let (status, error) = error_of(send(r#"{"chunk": 1.5}"#, true)).await;
    assert_eq!(status, 400);
    assert!(error.contains("whole number"), "{error}");
    let (status, _) = error_of(send("{}", false)).await;
    assert_eq!(status, 415);
    // A whole number written as 1000.0 is a whole number (JSON Schema's
    // integer): past the body, to the missing plan.
    let (status, _) = error_of(send(r#"{"chunk": 1000.0}"#, true)).await;
    assert_eq!(status, 404);

    // A query parameter of the wrong type; an empty environment names none.
    let (status, error) = error_of(olga.get(app.url("/api/v1/plans/x/timeline?hours=many"))).await;
    assert_eq!(status, 400);
    assert!(error.starts_with("query: hours:"), "{error}");
    let (status, _) =
        error_of(olga.get(app.url("/api/v1/flags/f/evaluate?entity=org-1&environment="))).await;
    assert_eq!(status, 400);

    // Without credentials, a write is 401 (not a CSRF refusal: there is
    // nothing for another site to borrow).
    let (status, _) = error_of(app.client.post(&runs).json(&serde_json::json!({}))).await;
    assert_eq!(status, 401);
    // With a cookie (ambient authority) and no Origin, it is the CSRF
    // refusal, as before.
    let (status, error) = error_of(
        app.client
            .post(&runs)
            .header("cookie", "id=anything")
            .json(&serde_json::json!({})),
    )
    .await;
    assert_eq!(status, 403);
    assert!(error.contains("Origin"), "{error}");

    // The document: every error answer has the one shape; the filters are
    // query parameters; evaluation names a configured environment.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut errors = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, answer) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        answer["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                    errors += 1;
                }
            }
            assert!(
                op.get("parameters").is_none_or(Value::is_array),
                "{method} {path}: parameters is a list or absent"
            );
            for p in op["parameters"].as_array().into_iter().flatten() {
                if !path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())) {
                    assert_eq!(p["in"], "query", "{method} {path} {}", p["name"]);
                }
            }
        }
    }
    assert!(errors > 50, "{errors} documented error answers");
    let body = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(body["required"], serde_json::json!(["error", "code"]));
    let codes = body["properties"]["code"]["enum"].as_array().unwrap();
    for c in [
        "invalid",
        "unauthenticated",
        "forbidden",
        "not_found",
        "stale_revision",
        "lost_race",
        "already_exists",
        "wrong_state",
        "not_confirmed",
        "unavailable",
    ] {
        assert!(codes.contains(&Value::from(c)), "{c} in {codes:?}");
    }
    let evaluate = &doc["paths"]["/api/v1/flags/{key}/evaluate"]["get"]["parameters"];
    let environment = evaluate
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "environment")
        .unwrap();
    assert_eq!(
        environment["schema"]["enum"],
        serde_json::json!(["dev", "staging", "production"])
    );
    app.stop().await;
}
