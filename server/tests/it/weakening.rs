//! What one operator may change alone on an active plan, decided by a list
//! of what is safe: every edit below loosens a safeguard or raises exposure,
//! and each is a change request that its author, the person a token acts
//! for and viewers cannot approve, while wording, notes and stricter gates
//! apply at once. Guardrails are part of a phase's evidence: an approval
//! given before one changed is dismissed. On both store backends.
use crate::common::{PlanApi as Plan, TestApp, TestDb};
use app::access::{Role, Scope};
use serde_json::{json, Value};
use server::audit::{Actor, ClientInfo};

use crate::common::fixtures::WEAKENING as PLAN;

/// Each edit that must wait for others, as (what, from, to).
const LOOSENING: &[(&str, &str, &str)] = &[
    (
        "exposure of a pending phase",
        "exposure_bp = 500",
        "exposure_bp = 10000",
    ),
    (
        "a pilot entity added",
        r#"allow = ["org-1"]"#,
        r#"allow = ["org-1", "org-2"]"#,
    ),
    (
        "a guardrail's query",
        "sum(rate(errors_total[5m]))",
        "vector(0)",
    ),
    ("a guardrail's bound", "max = 1\n", "max = 1e9\n"),
    ("a guardrail's for", r#"for = "5m""#, r#"for = "5h""#),
    (
        "a guardrail's no_data",
        r#"no_data = "fail""#,
        r#"no_data = "zero""#,
    ),
    (
        "a guardrail's action",
        r#"action = "emergency""#,
        r#"action = "record""#,
    ),
    (
        "a guardrail made a dry run",
        r#"action = "emergency""#,
        "action = \"emergency\"\ndry_run = true",
    ),
    (
        "an entry criterion made manual",
        "kind = \"auto\"\ncheck = \"dry_run_clean\"\nmax_age = \"24h\"",
        "kind = \"manual\"\nmax_age = \"24h\"",
    ),
    (
        "an entry criterion's max_age longer",
        r#"max_age = "24h""#,
        r#"max_age = "30d""#,
    ),
    (
        "a checklist item removed",
        "[[phases.checklist]]\nkind = \"manual\"\ntext = \"No user reports\"\n",
        "",
    ),
    ("a shorter soak", r#"soak = "2h""#, r#"soak = "1m""#),
    ("fewer approvals", "approvals = 2", "approvals = 1"),
    (
        "other approver roles",
        "approvals = 1\n",
        "approvals = 1\napprover_roles = [\"operator\"]\n",
    ),
    (
        "a job's SQL",
        "SELECT id FROM src WHERE",
        "SELECT id FROM src_all WHERE",
    ),
    (
        "a job's target",
        r#"target = "demo""#,
        r#"target = "other""#,
    ),
    (
        "a job's dry-run requirement",
        "require_dry_run = true",
        "require_dry_run = false",
    ),
    (
        "a job's error limit",
        "error_threshold_pct = 5.0",
        "error_threshold_pct = 100.0",
    ),
    ("a runbook step", "Deploy the build", "Skip the build"),
    ("a rollback step", "Restart the application", "Do nothing"),
    (
        "a phase's environment",
        "environment = \"production\"",
        "environment = \"staging\"",
    ),
];

on_both_backends! {
    every_loosening_edit_waits_for_others_and_safe_ones_apply => loosening;
}

async fn loosening(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let ann = app.signed_in("ann", &[Role::Approver]).await;
    let bob = app.signed_in("bob", &[Role::Approver]).await;
    let vera = app.signed_in("vera", &[Role::Viewer]).await;
    let plan = Plan::import(&app, &olga, PLAN).await;
    let canary = plan.phase(&olga, 0).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = plan.on_phase(&olga, "start_phase", &canary).await;
    assert_eq!(status, 200, "{body}");

    // A plans:write token that acts for ann (made as the CLI makes them).
    let secret = server::auth::tokens::create_for(
        &app.state.store,
        &Actor::cli(),
        &ClientInfo::default(),
        Some("ann"),
        "pipeline",
        &[Scope::PlansWrite, Scope::PlansRead],
        None,
        &crate::common::environments(),
    )
    .await
    .unwrap()
    .secret;
    let pipeline = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {secret}").parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();

    for (i, (what, from, to)) in LOOSENING.iter().enumerate() {
        assert!(PLAN.contains(from), "{what}: {from:?} is in the plan");
        let edited = PLAN.replacen(from, to, 1);
        // Alternate the author: olga herself, and the token acting for ann.
        let (author, author_name, cannot) = if i % 2 == 0 {
            (&olga, "olga", &olga)
        } else {
            (&pipeline, "ann", &ann)
        };
        let (status, body) = plan.edit(author, None, &edited).await;
        assert_eq!(status, 202, "{what} is a change request: {body}");
        check_request(&plan, &olga, &vera, cannot, author_name, what, &body).await;
    }

    let removed = PLAN.replace(
        &PLAN[PLAN.find("[[guardrails]]").unwrap()..PLAN.find("[rollback]").unwrap()],
        "",
    );
    let (status, body) = plan.edit(&olga, None, &removed).await;
    assert_eq!(status, 202, "a guardrail removed: {body}");
    check_request(
        &plan,
        &olga,
        &vera,
        &olga,
        "olga",
        "a guardrail removed",
        &body,
    )
    .await;

    // Safe edits apply at once: wording, notes, a stricter gate, an added
    // item, an added guardrail, a lower exposure, a pilot entity removed.
    let safe = PLAN
        .replace("A plan with every kind of safeguard", "Reworded")
        .replace("Five percent", "5 % of organisations")
        .replace(r#"soak = "2h""#, r#"soak = "3h""#)
        .replace("exposure_bp = 500", "exposure_bp = 100")
        .replace(r#"allow = ["org-1"]"#, "allow = []")
        .replace(
            "[rollback]",
            "[[guardrails]]\nname = \"latency\"\nenvironments = [\"production\"]\nprometheus = \"app\"\nquery = 'vector(1)'\nmax = 2\n\n[rollback]",
        )
        .replace(
            "text = \"No user reports\"\n",
            "text = \"No user reports\"\n[[phases.checklist]]\nkind = \"manual\"\ntext = \"Support briefed\"\n",
        );
    let (status, body) = plan.edit(&olga, None, &safe).await;
    assert_eq!(status, 200, "safe edits apply at once: {body}");
    assert_eq!(plan.phase(&olga, 1).await["exposure_bp"], 100);

    // An approval given before a guardrail changed is dismissed.
    for item in plan.phase(&olga, 0).await["checklist"].as_array().unwrap() {
        let (status, body) = plan
            .command(
                &olga,
                json!({"command": "tick", "item_id": item["id"], "ticked": true, "comment": ""}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = plan.on_phase(&olga, "request_approval", &canary).await;
    assert_eq!(status, 200, "{body}");
    let phase = plan.phase(&olga, 0).await;
    let (status, body) = plan
        .command(&ann, json!({"command": "decide", "phase_id": canary, "verdict": "approve", "comment": "ok", "evidence": phase["evidence_hash"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let before = plan.phase(&olga, 0).await["evidence_hash"].clone();
    let bound_changed = safe.replacen("max = 1\n", "max = 5\n", 1);
    plan.edit_approved(&olga, &bound_changed, &[&ann, &bob])
        .await;
    let phase = plan.phase(&olga, 0).await;
    assert_ne!(phase["evidence_hash"], before, "the guardrail is evidence");
    let decisions = phase["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1, "{phase}");
    assert!(
        !decisions[0]["dismissed_at_ms"].is_null(),
        "ann's approval, given before the guardrail changed, was dismissed: {phase}"
    );
    assert_eq!(phase["approvals"], 0, "{phase}");
    app.stop().await;
}

/// The pending change request in `body`: its author may not approve it,
/// nor may a viewer; then it is withdrawn by its author's side.
async fn check_request(
    plan: &Plan<'_>,
    olga: &reqwest::Client,
    vera: &reqwest::Client,
    cannot: &reqwest::Client,
    author_name: &str,
    what: &str,
    body: &Value,
) {
    let change = body["pending_change"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: a pending change: {body}"))
        .to_string();
    let request = plan.view(olga).await["change_request"].clone();
    assert!(
        request["weakens"].as_array().is_some_and(|w| !w.is_empty()),
        "{what}: says what it changes: {request}"
    );
    let decide = json!({"command": "decide_change", "change_id": change, "verdict": "approve", "comment": "mine"});
    let (status, body) = plan.command(cannot, decide.clone()).await;
    assert_eq!(
        status, 403,
        "{what}: {author_name} may not approve: {status} {body}"
    );
    let (status, body) = plan.command(vera, decide).await;
    assert_eq!(status, 403, "{what}: a viewer may not approve: {body}");
    let (status, body) = plan
        .command(
            olga,
            json!({"command": "withdraw_change", "change_id": change}),
        )
        .await;
    // olga withdraws her own; the token's (ann's) is superseded by the next edit.
    assert!(status == 200 || status == 403, "{what}: {body}");
}
