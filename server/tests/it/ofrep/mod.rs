//! OFREP against the real server: the protocol's answers (`protocol`), the
//! same buckets as the evaluate endpoint over 10,000 entities (`agree`), and
//! the Rust OpenFeature SDK with its OFREP provider (`client`).
mod agree;
mod client;
mod protocol;

use app::access::Scope;
use serde_json::{json, Value};
use server::audit::{Actor, ClientInfo};

use crate::common::{Fetch, PlanApi, TestApp};

/// A plan owning `flag`, served as `[flag]` says (nothing: a boolean): dev
/// 10 %, dev 50 %, staging 20 %, production 5 %, no gates.
pub fn typed_plan(name: &str, flag: &str, flag_table: &str) -> String {
    let phase = |name: &str, env: &str, bp: i64| {
        format!("[[phases]]\nname = \"{name}\"\nenvironment = \"{env}\"\nexposure_bp = {bp}\n\n")
    };
    format!(
        "[plan]\nname = \"{name}\"\nflag = \"{flag}\"\n\n{flag_table}\n{}{}{}{}",
        phase("dev 10%", "dev", 1_000),
        phase("dev 50%", "dev", 5_000),
        phase("staging 20%", "staging", 2_000),
        phase("production 5%", "production", 500),
    )
}

/// The five kinds of flag, as `(plan name, flag key, [flag] table)`.
pub fn typed() -> [(&'static str, &'static str, String); 5] {
    let table = |kind: &str, on: &str, off: &str| {
        format!("[flag]\ntype = \"{kind}\"\non = {on}\noff = {off}\n")
    };
    let variants = "on_variant = \"dark-theme\"\noff_variant = \"light-theme\"\n";
    [
        ("Boolean", "new_checkout", String::new()),
        (
            "Theme",
            "theme",
            table("string", "\"dark\"", "\"light\"") + variants,
        ),
        ("Columns", "columns", table("integer", "4", "3")),
        ("Ratio", "discount_ratio", table("float", "1", "0.25")),
        (
            "Layout",
            "layout",
            table(
                "object",
                "{ columns = 4, banner = true }",
                "{ columns = 3 }",
            ),
        ),
    ]
}

/// Starts phase `i` of `plan` (the one before it, gated by nothing, is
/// approved on request).
pub async fn advance(plan: &PlanApi<'_>, who: &reqwest::Client, i: usize) {
    if i > 0 {
        let before = plan.phase(who, i - 1).await["id"].clone();
        let (status, body) = plan.on_phase(who, "request_approval", &before).await;
        assert_eq!(status, 200, "{body}");
    }
    let id = plan.phase(who, i).await["id"].clone();
    let (status, body) = plan.on_phase(who, "start_phase", &id).await;
    assert_eq!(status, 200, "{body}");
}

/// A token with `scopes` bound to `environment` (for flags).
pub async fn token(app: &TestApp, scopes: &[Scope], environment: Option<&str>) -> String {
    server::auth::tokens::create(
        &app.state.store,
        &Actor::System,
        &ClientInfo::default(),
        "application",
        scopes,
        environment,
        &crate::common::environments(),
    )
    .await
    .unwrap()
    .secret
}

/// The evaluate endpoint's answer for `entity` with `secret`.
pub async fn evaluate(app: &TestApp, secret: &str, flag: &str, entity: &str) -> (u16, Value) {
    app.client
        .get(app.url(&format!("/api/v1/flags/{flag}/evaluate?entity={entity}")))
        .bearer_auth(secret)
        .answer()
        .await
}

/// OFREP's answer for one flag.
pub async fn single(app: &TestApp, flag: &str, secret: &str, context: Value) -> (u16, Value) {
    post(
        app,
        &format!("/ofrep/v1/evaluate/flags/{flag}"),
        secret,
        context,
    )
    .await
}

/// The entry of `key` in a bulk answer's `flags`.
pub fn entry<'b>(bulk: &'b Value, key: &str) -> &'b Value {
    bulk["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .unwrap()
}

/// `POST` of `context` to an OFREP path with `secret` as the bearer.
pub async fn post(app: &TestApp, path: &str, secret: &str, context: Value) -> (u16, Value) {
    app.client
        .post(app.url(path))
        .bearer_auth(secret)
        .json(&json!({ "context": context }))
        .answer()
        .await
}
