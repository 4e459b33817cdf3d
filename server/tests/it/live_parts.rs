//! The plan page's live parts, on both store backends: the page names each
//! part with the sum of what it was drawn from; a redraw that holds those
//! sums gets nothing back until the plan changes, then exactly the parts
//! that changed, each as a fresh page draws it; parts the browser does not
//! hold (a phase added) make it load the page again; and each reader gets
//! the parts drawn for their own roles.

use std::collections::BTreeMap;

use crate::common::{PlanApi, TestApp, TestDb};
use app::access::Role;

use crate::common::fixtures::APPROVER_SEES as PLAN;

on_both_backends! {
    a_redraw_gets_only_the_parts_that_changed => live_parts;
}

/// The page's parts: id → sum.
async fn parts(app: &TestApp, who: &reqwest::Client, plan: &str) -> BTreeMap<String, String> {
    let res = who
        .get(app.url(&format!("/plans/{plan}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let mut parts = BTreeMap::new();
    let marker = " data-live-part data-live-sum=\"";
    let mut rest = html.as_str();
    while let Some(at) = rest.find(marker) {
        let before = &rest[..at];
        let id = before[before.rfind("id=\"").expect("a part has an id") + 4..]
            .trim_end_matches('"')
            .to_string();
        let sum = &rest[at + marker.len()..];
        let sum = sum[..sum.find('"').unwrap()].to_string();
        parts.insert(id, sum);
        rest = &rest[at + marker.len()..];
    }
    parts
}

/// The redraw of a browser holding `have`.
async fn redraw(
    app: &TestApp,
    who: &reqwest::Client,
    plan: &str,
    have: &BTreeMap<String, String>,
) -> serde_json::Value {
    let have: Vec<String> = have.iter().map(|(id, sum)| format!("{id}:{sum}")).collect();
    let res = who
        .get(app.url("/api/plan_regions"))
        .query(&[("id", plan), ("have", &have.join(","))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn ids(redraw: &serde_json::Value) -> Vec<String> {
    redraw["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Each part `redraw` sent was not the browser's (`before`) and is the
/// fresh page's (`after`); each part it did not send is unchanged. Parts
/// that show the time (`ticking`: the timeline's range ends now, a running
/// phase counts its soak down) may have moved on between the two reads.
fn same_as_page(
    redraw: &serde_json::Value,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    ticking: &[&str],
) {
    let sent = ids(redraw);
    for region in redraw["regions"].as_array().unwrap() {
        let id = region["id"].as_str().unwrap();
        assert_ne!(
            region["sum"],
            before[id].as_str(),
            "{id} was sent unchanged"
        );
        assert!(!region["html"].as_str().unwrap().is_empty(), "{id}");
        if !ticking.contains(&id) {
            assert_eq!(region["sum"], after[id].as_str(), "{id}");
        }
    }
    for (id, sum) in after {
        if !sent.contains(id) && !ticking.contains(&id.as_str()) {
            assert_eq!(&before[id], sum, "{id} changed but was not sent");
        }
    }
}

async fn live_parts(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let vera = app.signed_in("vera", &[Role::Viewer]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let before = parts(&app, &olga, &plan.id).await;
    let first = plan.phase(&olga, 0).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let phase_part = format!("live-phase-{first}");
    for id in [
        "live-head",
        "live-revision",
        "live-guardrails",
        "live-timeline-chart",
        "live-timeline-events",
        "live-rollback",
    ] {
        assert!(before.contains_key(id), "{id} in {before:?}");
    }
    assert!(before.contains_key(&phase_part), "{before:?}");

    // Nothing changed: nothing to send (but the chart, whose range ends at
    // the end of the minute, when a minute has begun since).
    let same = redraw(&app, &olga, &plan.id, &before).await;
    assert_eq!(same["reload"], false, "{same}");
    assert!(
        ids(&same).iter().all(|id| id == "live-timeline-chart"),
        "{same}"
    );
    let ticking = ["live-timeline-chart", phase_part.as_str()];

    // The first phase starts: its part, the head, the revision, the
    // timeline and the next phase's part (now the next to start) change.
    let (status, body) = plan.on_phase(&olga, "start_phase", &first).await;
    assert_eq!(status, 200, "{body}");
    let changed = redraw(&app, &olga, &plan.id, &before).await;
    assert_eq!(changed["reload"], false, "{changed}");
    let sent = ids(&changed);
    for id in [
        "live-head",
        "live-revision",
        "live-timeline-events",
        phase_part.as_str(),
    ] {
        assert!(sent.iter().any(|s| s == id), "{id} not in {sent:?}");
    }
    // What was sent is what a fresh page shows; what was not, did not change.
    let after = parts(&app, &olga, &plan.id).await;
    same_as_page(&changed, &before, &after, &ticking);
    let started = &changed["regions"].as_array().unwrap()
        [sent.iter().position(|s| *s == phase_part).unwrap()];
    assert!(
        started["html"]
            .as_str()
            .unwrap()
            .contains("Request approval"),
        "the operator's running phase offers to request approval: {started}"
    );

    // An item of the running phase ticked: its part, the revision, the
    // timeline's events (the tick listed) and the next phase's part (its
    // blockers) change; the head, the guardrails and the rollback panel do
    // not, and are not sent.
    let item = plan.phase(&olga, 0).await["checklist"][0]["id"].clone();
    let tick =
        serde_json::json!({"command": "tick", "item_id": item, "ticked": true, "comment": "done"});
    let (status, body) = plan.command(&olga, tick).await;
    assert_eq!(status, 200, "{body}");
    let ticked = redraw(&app, &olga, &plan.id, &after).await;
    let sent = ids(&ticked);
    for id in ["live-revision", "live-timeline-events", phase_part.as_str()] {
        assert!(sent.iter().any(|s| s == id), "{id} not in {sent:?}");
    }
    for id in ["live-head", "live-guardrails", "live-rollback"] {
        assert!(!sent.iter().any(|s| s == id), "{id} in {sent:?}");
    }
    let events = &ticked["regions"].as_array().unwrap()[sent
        .iter()
        .position(|s| s == "live-timeline-events")
        .unwrap()];
    assert!(
        events["html"].as_str().unwrap().contains("checklist.tick"),
        "the tick is listed under the chart: {events}"
    );
    let now = parts(&app, &olga, &plan.id).await;
    same_as_page(&ticked, &after, &now, &ticking);

    // A part the browser does not hold: the page is loaded again.
    let after = parts(&app, &olga, &plan.id).await;
    let mut fewer = after.clone();
    fewer.remove("live-rollback");
    let reload = redraw(&app, &olga, &plan.id, &fewer).await;
    assert_eq!(reload["reload"], true, "{reload}");

    // A viewer's parts are drawn for a viewer: no forms, other sums.
    let viewer = parts(&app, &vera, &plan.id).await;
    assert_eq!(
        viewer.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    assert_ne!(viewer[&phase_part], after[&phase_part]);
    let theirs = redraw(&app, &vera, &plan.id, &after).await;
    let drawn = theirs["regions"].to_string();
    assert!(!drawn.contains("Request approval"), "{drawn}");
    assert!(!drawn.contains("rollback-form"), "{drawn}");
    app.stop().await;
}
