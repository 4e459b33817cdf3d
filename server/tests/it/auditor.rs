//! An auditor's test: from the audit export alone plus the plan's stored
//! files, reconstruct for "production 5%" who approved it, the exact
//! evidence they approved (each item with its result, each guardrail with
//! its definition and its newest reading) and every edit of the plan file
//! with its author — a change request's included, credited to who proposed
//! it, not to who approved it last.
use std::time::{Duration, Instant};

use crate::common::team::console_with_sqlite_target;
use crate::common::Fetch;
use crate::common::PlanApi;
use app::access::Role;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::fixtures::AUDITOR as PLAN;

fn sha(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reconstructs_an_approval_and_every_edit_from_the_trail() {
    let (app, t, _target_db) =
        console_with_sqlite_target(&["CREATE TABLE errors (id INTEGER PRIMARY KEY)"]).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let bob = app.signed_in("bob", &[Role::Approver]).await;
    let audra = app.signed_in("audra", &[Role::Viewer]).await;
    let plan = PlanApi::import(&app, &olga, PLAN).await;
    let phase_id = plan.phase(&olga, 0).await["id"].clone();
    let ok = |(status, body): (u16, Value)| assert_eq!(status, 200, "{body}");
    ok(plan.on_phase(&olga, "start_phase", &phase_id).await);

    // A safe edit (olga's), then a change request (olga's) that loosens the
    // guardrail's bound, approved by ann and bob.
    let worded = PLAN.replace("notes = \"first\"", "notes = \"first, 5 % of traffic\"");
    let (status, body) = plan.edit(&olga, None, &worded).await;
    assert_eq!(status, 200, "{body}");
    let loosened = worded.replace("max = 1\n", "max = 2\n");
    plan.edit_approved(&olga, &loosened, &[&ann, &bob]).await;

    // The gate: ticked, the guardrail read healthy, approval requested and given.
    let started = Instant::now();
    loop {
        let p = plan.phase(&olga, 0).await;
        let met = p["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "auto" && i["met"] == true);
        if met {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the guardrail item never met: {p}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let manual = plan.phase(&olga, 0).await["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "manual")
        .unwrap()["id"]
        .clone();
    ok(plan
        .command(
            &olga,
            json!({"command": "tick", "item_id": manual, "ticked": true, "comment": "on screen 3"}),
        )
        .await);
    ok(plan.on_phase(&olga, "request_approval", &phase_id).await);
    for who in [&ann, &bob] {
        let evidence = plan.phase(who, 0).await["evidence_hash"].clone();
        ok(plan.command(who, json!({"command": "decide", "phase_id": phase_id, "verdict": "approve", "comment": "looks healthy", "evidence": evidence})).await);
    }

    // The auditor: the export, as a viewer may read it, and nothing else
    // but the stored files.
    let export = audra
        .get(app.url("/api/v1/audit/export?format=jsonl"))
        .body_text()
        .await;
    let events: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &Value| e["subject"] == format!("plan:{}", plan.id))
        .collect();
    let details = |e: &Value| -> Value {
        match &e["details"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            v => v.clone(),
        }
    };

    // Who approved "production 5%", and on what.
    let approvals: Vec<&Value> = events
        .iter()
        .filter(|e| e["action"] == "gate.approve" && details(e)["phase"] == "production 5%")
        .collect();
    let approvers: Vec<&str> = approvals
        .iter()
        .map(|e| e["actor_name"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["ann", "bob"]);
    for a in &approvals {
        let ev = &details(a)["evidence"];
        let items = ev["items"].as_array().unwrap();
        let dashboards = items
            .iter()
            .find(|i| i["text"] == "Dashboards watched")
            .unwrap();
        assert_eq!(
            (
                &dashboards["met"],
                &dashboards["ticked_by"],
                &dashboards["comment"]
            ),
            (&json!(true), &json!("olga"), &json!("on screen 3")),
            "{ev}"
        );
        let auto = items
            .iter()
            .find(|i| i["check"] == "guardrail_error_rate")
            .unwrap();
        assert_eq!(auto["met"], true, "{ev}");
        let g = &ev["guardrails"][0];
        assert_eq!(g["name"], "error_rate", "{ev}");
        assert!(
            g["definition"]
                .as_str()
                .unwrap()
                .contains("SELECT COUNT(*) FROM errors"),
            "{ev}"
        );
        assert_eq!(g["newest_reading"]["outcome"], "healthy", "{ev}");
        assert_eq!(g["newest_reading"]["value"], 0.0, "{ev}");
        assert!(
            g["newest_reading"]["threshold"]
                .as_str()
                .unwrap()
                .contains('2'),
            "the loosened bound: {ev}"
        );
    }

    // Every version of the file, and who made it.
    let mut authors = Vec::new();
    for e in events.iter().filter(|e| {
        matches!(
            e["action"].as_str(),
            Some("plan.import" | "plan.edit" | "plan.change_request")
        )
    }) {
        let d = details(e);
        let file_sha = d["source_sha256"].as_str().unwrap();
        let file = audra
            .get(app.url(&format!("/api/v1/plans/{}/sources/{file_sha}", plan.id)))
            .body_text()
            .await;
        assert_eq!(
            sha(&file),
            file_sha,
            "the stored file is the one the event names"
        );
        let author = d["author"]
            .as_str()
            .unwrap_or(e["actor_name"].as_str().unwrap())
            .to_string();
        authors.push((e["action"].as_str().unwrap().to_string(), author, file));
    }
    assert_eq!(
        authors
            .iter()
            .map(|(a, w, _)| (a.as_str(), w.as_str()))
            .collect::<Vec<_>>(),
        [
            ("plan.import", "olga"),
            ("plan.edit", "olga"),
            ("plan.change_request", "olga"),
            ("plan.edit", "olga")
        ],
        "the change request's edit is olga's, approved by ann and bob"
    );
    assert_eq!(authors[0].2, PLAN);
    assert_eq!(authors[3].2, loosened);
    let applied = events.iter().rfind(|e| e["action"] == "plan.edit").unwrap();
    assert_eq!(details(applied)["approved_by"], json!(["ann", "bob"]));
    // A guardrail edit says what it changed, line by line, in its event.
    let diff = details(applied)["diff"].as_str().unwrap().to_string();
    assert!(diff.contains("-max = 1\n+max = 2\n"), "{diff}");
    assert_eq!(
        applied["actor_name"], "bob",
        "the event's actor: whose approval applied it"
    );

    // The list names each version once, the current one marked.
    let list: Value = audra
        .get(app.url(&format!("/api/v1/plans/{}/sources", plan.id)))
        .body_json()
        .await;
    let versions = list.as_array().unwrap();
    assert_eq!(versions.len(), 3, "{list}");
    assert_eq!(versions.iter().filter(|v| v["current"] == true).count(), 1);
    assert_eq!(versions.last().unwrap()["sha256"], sha(&loosened));
    app.stop().await;
    drop(t);
}
