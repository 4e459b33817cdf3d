//! OFREP and `GET /api/v1/flags/{key}/evaluate` put every entity in the same
//! bucket with the same answer, in every environment: 10,000 entities, a
//! split in each environment, an allow list and an entity rolled back.
use app::access::{Role, Scope};
use futures_util::{stream, StreamExt};
use serde_json::json;

use super::{advance, post, token, typed_plan};
use crate::common::{PlanApi, TestApp, TestDb};

on_both_backends! {
    ofrep_and_the_evaluate_endpoint_agree_on_ten_thousand_entities => agree;
}

const ENTITIES: usize = 10_000;

async fn agree(db: TestDb) {
    let app = TestApp::spawn_db_with(db, |c| {
        c.ofrep.requests_per_sec = 1_000_000;
        c.ofrep.burst = 1_000_000;
    })
    .await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let plan = PlanApi::import(
        &app,
        &olga,
        &typed_plan(
            "Theme",
            "theme",
            "[flag]\ntype = \"string\"\non = \"dark\"\noff = \"light\"\n",
        ),
    )
    .await;
    for i in 0..4 {
        advance(&plan, &olga, i).await;
    }
    let (status, body) = plan
        .command(&olga, json!({"command": "allow", "environment": "production", "entities": ["org-7"], "reason": "pilot"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = plan
        .command(&olga, json!({"command": "rollback", "kind": "entity", "confirm": "Theme", "reason": "their import broke", "entity": "org-42"}))
        .await;
    assert_eq!(status, 200, "{body}");

    for environment in ["dev", "staging", "production"] {
        let secret = token(&app, &[Scope::FlagsRead], Some(environment)).await;
        let secret = &secret;
        let app = &app;
        let mut on = 0;
        let mut answers = stream::iter(0..ENTITIES)
            .map(|i| async move {
                let entity = format!("org-{i}");
                let (s1, ofrep) = post(
                    app,
                    "/ofrep/v1/evaluate/flags/theme",
                    secret,
                    json!({"targetingKey": entity}),
                )
                .await;
                let (s2, ours) = super::evaluate(app, secret, "theme", &entity).await;
                assert_eq!((s1, s2), (200, 200), "{ofrep} {ours}");
                (entity, ofrep, ours)
            })
            .buffer_unordered(8);
        let mut seen = 0;
        while let Some((entity, ofrep, ours)) = answers.next().await {
            seen += 1;
            let is_on = ours["value"] == true;
            on += usize::from(is_on);
            assert_eq!(
                ofrep["value"],
                if is_on { "dark" } else { "light" },
                "{entity} in {environment}: {ofrep} {ours}"
            );
            assert_eq!(
                ofrep["metadata"]["bucket"], ours["bucket"],
                "{entity} in {environment}"
            );
            let reason = match ours["reason"].as_str().unwrap() {
                "split" => "SPLIT",
                "disabled" => "DISABLED",
                _ => "TARGETING_MATCH",
            };
            assert_eq!(
                ofrep["reason"], reason,
                "{entity} in {environment}: {ofrep} {ours}"
            );
            if entity == "org-42" {
                assert_eq!(
                    (&ofrep["value"], &ofrep["reason"]),
                    (&json!("light"), &json!("TARGETING_MATCH"))
                );
            }
            if entity == "org-7" && environment == "production" {
                assert_eq!(
                    (&ofrep["value"], &ofrep["reason"]),
                    (&json!("dark"), &json!("TARGETING_MATCH"))
                );
            }
        }
        assert_eq!(seen, ENTITIES);
        // Sticky buckets spread evenly: the share on is near the exposure.
        let expected = match environment {
            "dev" => 5_000,
            "staging" => 2_000,
            _ => 500,
        };
        assert!(
            on.abs_diff(expected) < expected / 5 + 50,
            "{on} of {ENTITIES} on in {environment}"
        );
    }
    app.stop().await;
}
