//! The Rust OpenFeature SDK (`open-feature` 0.3.0) with its OFREP provider
//! (`open-feature-ofrep` 0.1.2) reads the console's flags as any Rust
//! application would: every type, a missing flag, a missing targeting key,
//! and a rate limit it waits out.
use std::time::Duration;

use app::access::{Role, Scope};
use open_feature::{EvaluationContext, EvaluationErrorCode, OpenFeature, StructValue, Value};
use open_feature_ofrep::{OfrepOptions, OfrepProvider};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

use super::{advance, token, typed_plan};
use crate::common::{Backend, PlanApi, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_openfeature_sdk_reads_every_type_and_waits_out_a_rate_limit() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.ofrep.requests_per_sec = 1;
        c.ofrep.burst = 9;
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    for (name, flag, table) in super::typed() {
        let plan = PlanApi::import(&app, &olga, &typed_plan(name, flag, &table)).await;
        // dev 50 %: an entity below it is on in every flag.
        advance(&plan, &olga, 0).await;
        advance(&plan, &olga, 1).await;
    }
    let secret = token(&app, &[Scope::FlagsRead], Some("dev")).await;
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {secret}")).unwrap(),
    );
    let provider = OfrepProvider::new(OfrepOptions {
        base_url: app.base.clone(),
        headers,
        connect_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .await
    .expect("the console's address is a base URL");
    let client = {
        let mut api = OpenFeature::singleton_mut().await;
        api.set_provider(provider).await;
        api.create_client()
    };
    // Who is on everywhere: asked of the console itself (the salts are the plans').
    let entity =
        super::protocol::on_everywhere(&app, &token(&app, &[Scope::FlagsRead], Some("dev")).await)
            .await;
    let ctx = EvaluationContext::default().with_targeting_key(entity.as_str());

    assert!(client
        .get_bool_value("new_checkout", Some(&ctx), None)
        .await
        .unwrap());
    assert_eq!(
        client
            .get_string_value("theme", Some(&ctx), None)
            .await
            .unwrap(),
        "dark"
    );
    assert_eq!(
        client
            .get_int_value("columns", Some(&ctx), None)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        client
            .get_float_value("discount_ratio", Some(&ctx), None)
            .await
            .unwrap(),
        1.0
    );
    let layout = client
        .get_struct_value::<StructValue>("layout", Some(&ctx), None)
        .await
        .unwrap();
    assert_eq!(layout.fields.get("columns"), Some(&Value::Int(4)));
    assert_eq!(layout.fields.get("banner"), Some(&Value::Bool(true)));
    let details = client
        .get_string_details("theme", Some(&ctx), None)
        .await
        .unwrap();
    assert_eq!(details.variant.as_deref(), Some("dark-theme"));

    let missing = client
        .get_bool_value("nope", Some(&ctx), None)
        .await
        .unwrap_err();
    assert_eq!(missing.code, EvaluationErrorCode::FlagNotFound);
    let anonymous = EvaluationContext::default();
    let refused = client
        .get_bool_value("new_checkout", Some(&anonymous), None)
        .await
        .unwrap_err();
    // This provider reports every 400 as an invalid context.
    assert_eq!(refused.code, EvaluationErrorCode::InvalidContext);

    // The burst (9) is nearly spent: soon a 429; the provider pauses as
    // Retry-After says, then is served again.
    let mut limited = None;
    for _ in 0..20 {
        if let Err(e) = client
            .get_bool_value("new_checkout", Some(&ctx), None)
            .await
        {
            limited = Some(e);
            break;
        }
    }
    let limited = limited.expect("a 429 within 20 requests at 1 a second");
    assert!(
        matches!(limited.code, EvaluationErrorCode::General(_)),
        "{limited:?}"
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert!(client
        .get_bool_value("new_checkout", Some(&ctx), None)
        .await
        .unwrap());
    app.stop().await;
}
