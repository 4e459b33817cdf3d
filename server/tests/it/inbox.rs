//! "Waiting for you", on both store backends: a request for approval waits
//! in the inbox of the people its gate names and nobody else's; the count
//! stream tells each of them at once and again when it is decided; an edit
//! that takes the phase off approval empties the inbox too.
use crate::common::fixtures::NOTIFY;
use crate::common::{Fetch, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::json;

on_both_backends! {
    a_request_waits_for_the_people_named_until_decided_or_dismissed => inbox;
}

/// The `count` events of one person's inbox stream, as they come.
struct Counts(reqwest::Response, String);

impl Counts {
    async fn open(app: &TestApp, who: &reqwest::Client) -> Counts {
        let res = who
            .get(app.url("/api/v1/inbox/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        Counts(res, String::new())
    }

    async fn next(&mut self) -> i64 {
        let read = async {
            loop {
                if let Some(end) = self.1.find("\n\n") {
                    let event: String = self.1.drain(..end + 2).collect();
                    if let Some(data) = event.strip_prefix("event: count\ndata: ") {
                        return data.trim().parse().unwrap();
                    }
                    continue;
                }
                let chunk = self
                    .0
                    .chunk()
                    .await
                    .unwrap()
                    .expect("the stream stays open");
                self.1.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), read)
            .await
            .expect("a count within 10 s")
    }
}

async fn waiting(app: &TestApp, who: &reqwest::Client) -> serde_json::Value {
    who.get(app.url("/api/v1/inbox")).body_json().await
}

async fn inbox(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let dana = app.signed_in("dana", &[Role::Approver]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let plan = PlanApi::import(&app, &olga, NOTIFY).await;
    let pilot = crate::notify::ready_for_approval(&plan, &olga).await;

    let mut danas = Counts::open(&app, &dana).await;
    let mut anns = Counts::open(&app, &ann).await;
    assert_eq!((danas.next().await, anns.next().await), (0, 0));
    assert_eq!(
        plan.on_phase(&olga, "request_approval", &pilot).await.0,
        200
    );
    assert_eq!(danas.next().await, 1, "dana is told at once");
    let gates = waiting(&app, &dana).await["gates"].clone();
    assert_eq!(gates.as_array().map(Vec::len), Some(1), "{gates}");
    assert_eq!(gates[0]["phase_id"], pilot);
    assert_eq!(gates[0]["requested_by"], "olga");
    assert_eq!(
        waiting(&app, &ann).await["gates"],
        json!([]),
        "ann is not named"
    );
    assert_eq!(waiting(&app, &olga).await["gates"], json!([]));
    // The header counts it on every page dana opens.
    let page = dana.get(app.url("/plans")).body_text().await;
    assert!(
        page.contains(r#"data-inbox-feed="/api/v1/inbox/events" class="count some">1<"#),
        "{page}"
    );
    // The focused view of the gate: the phase, what approving lets happen.
    let focused = dana
        .get(app.url(&format!(
            "/plans/{}/approve/{}",
            plan.id,
            pilot.as_str().unwrap()
        )))
        .body_text()
        .await;
    assert!(
        focused.contains("Approve &quot;pilot&quot;") || focused.contains("Approve \"pilot\""),
        "{focused}"
    );
    assert!(
        focused.contains("Approving lets the next phase, &quot;everyone&quot;, start")
            || focused.contains("Approving lets the next phase, \"everyone\", start"),
        "{focused}"
    );
    assert!(
        !focused.contains(r#"data-phase="everyone""#),
        "no other phase's card"
    );

    // Decided: gone from dana's inbox, and her header hears it.
    let evidence = plan.phase(&dana, 0).await["evidence_hash"].clone();
    let decide = json!({"command": "decide", "phase_id": pilot, "verdict": "reject", "comment": "not yet", "evidence": evidence});
    assert_eq!(plan.command(&dana, decide).await.0, 200);
    assert_eq!(danas.next().await, 0);

    // Asked again, then taken off approval by an edit that adds an item.
    let erik = app.signed_in("erik", &[Role::Admin]).await;
    assert_eq!(
        plan.on_phase(&olga, "request_approval", &pilot).await.0,
        200
    );
    assert_eq!(
        waiting(&app, &erik).await["gates"].as_array().map(Vec::len),
        Some(1)
    );
    let edited = NOTIFY.replace(
        "text = \"Backup taken\"",
        "text = \"Backup taken\"\n[[phases.checklist]]\nkind = \"manual\"\ntext = \"Restore tested\"",
    );
    let (status, body) = plan.edit(&olga, None, &edited).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        waiting(&app, &erik).await["gates"],
        json!([]),
        "taken off approval"
    );
}
