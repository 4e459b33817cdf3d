//! Passkey-signed decisions, on both store backends, with a software
//! authenticator that answers as a browser's passkey does: dana registers
//! a passkey; on a gate that takes signed decisions, an unsigned approval,
//! one signed over other evidence, one signed by another key and a replayed
//! one are refused; a signed one counts, and the trail alone proves which
//! key approved which evidence — `audit verify` names a decision edited in
//! the database (triggers dropped), from the store and from an export.
use crate::common::fixtures::SIGNED;
use crate::common::{refused, Fetch, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::{json, Value};
use server::webauthn::soft::Authenticator;
use server::webauthn::{b64url, from_b64url};

on_both_backends! {
    a_signed_gate_takes_only_an_assertion_over_the_decision_it_records => signed;
}

const BIN: &str = env!("CARGO_BIN_EXE_rollout-console");

async fn register(app: &TestApp, who: &reqwest::Client, key: &Authenticator) -> (u16, Value) {
    let options: Value = who
        .post(app.url("/api/v1/me/passkeys/options"))
        .json(&json!({}))
        .body_json()
        .await;
    let challenge = from_b64url(
        "challenge",
        options["publicKey"]["challenge"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(options["publicKey"]["rp"]["id"], "127.0.0.1");
    let (client, object) = key.register(&challenge);
    who.post(app.url("/api/v1/me/passkeys"))
        .json(&json!({
            "nonce": options["nonce"], "name": "test key",
            "client_data_json": b64url(&client), "attestation_object": b64url(&object),
        }))
        .answer()
        .await
}

/// A decision signed by `key` over a challenge asked for `asked` evidence.
async fn signed_decision(
    plan: &PlanApi<'_>,
    who: &reqwest::Client,
    (phase, evidence, asked): (&Value, &Value, &Value),
    key: &Authenticator,
    count: u32,
) -> Value {
    let sign: Value = who
        .post(plan.app.url(&format!("/api/v1/plans/{}/sign", plan.id)))
        .json(&json!({"phase_id": phase, "verdict": "approve", "evidence": asked}))
        .body_json()
        .await;
    let challenge = from_b64url(
        "challenge",
        sign["publicKey"]["challenge"].as_str().unwrap(),
    )
    .unwrap();
    let (auth, client, sig) = key.assert(&challenge, count);
    json!({"command": "decide", "phase_id": phase, "verdict": "approve", "comment": "", "evidence": evidence,
        "signature": {"nonce": sign["nonce"], "credential_id": b64url(&key.credential_id),
            "authenticator_data": b64url(&auth), "client_data_json": b64url(&client), "signature": b64url(&sig)}})
}

async fn signed(db: TestDb) {
    let app = TestApp::on(db).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let dana = app.signed_in("dana", &[Role::Approver]).await;
    let origin = app.base.clone();
    let key = Authenticator::new(11, "127.0.0.1", &origin);
    let (status, body) = register(&app, &dana, &key).await;
    assert_eq!(status, 200, "{body}");
    let keys: Value = dana.get(app.url("/api/v1/me/passkeys")).body_json().await;
    assert_eq!(keys[0]["credential_id"], b64url(&key.credential_id));

    let plan = PlanApi::import(&app, &olga, SIGNED).await;
    let pilot = plan.phase(&olga, 0).await;
    assert_eq!(pilot["signed"], true);
    let phase = pilot["id"].clone();
    assert_eq!(plan.on_phase(&olga, "start_phase", &phase).await.0, 200);
    assert_eq!(
        plan.on_phase(&olga, "request_approval", &phase).await.0,
        200
    );
    let evidence = plan.phase(&dana, 0).await["evidence_hash"].clone();

    // Unsigned: refused.
    let plain = json!({"command": "decide", "phase_id": phase, "verdict": "approve", "comment": "", "evidence": evidence});
    refused(
        plan.command(&dana, plain).await,
        400,
        "signed with a passkey",
    );
    // Signed over other evidence: refused.
    let other = json!("0".repeat(64));
    let wrong = signed_decision(&plan, &dana, (&phase, &evidence, &other), &key, 1).await;
    refused(plan.command(&dana, wrong).await, 400, "another decision");
    // Signed by a key that is not hers (its id claims hers): refused.
    let mut forged = Authenticator::new(12, "127.0.0.1", &origin);
    forged.credential_id = key.credential_id.clone();
    let bad = signed_decision(&plan, &dana, (&phase, &evidence, &evidence), &forged, 2).await;
    refused(plan.command(&dana, bad).await, 400, "does not verify");
    assert_eq!(plan.phase(&dana, 0).await["approvals"], 0);

    // Signed over this decision: counted; replaying it: refused.
    let good = signed_decision(&plan, &dana, (&phase, &evidence, &evidence), &key, 3).await;
    let (status, body) = plan.command(&dana, good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plan.phase(&dana, 0).await["status"], "approved");
    let (status, body) = plan.command(&dana, good).await;
    assert!(status == 400 || status == 409, "{status} {body}");

    // The trail proves it, from the store and from an export alone.
    let store = &app.state.store;
    let (decision, seq): (String, i64) = {
        let (details, seq): (String, i64) =
            sqlx::query_as("SELECT details, seq FROM audit_events WHERE action = 'gate.approve'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let d: Value = serde_json::from_str(&details).unwrap();
        assert_eq!(d["signature"]["credential_id"], b64url(&key.credential_id));
        (d["decision"].as_str().unwrap().to_string(), seq)
    };
    let dir = tempfile::tempdir().unwrap();
    let anchors = app
        .db
        .anchor_path()
        .unwrap_or_else(|| dir.path().join("anchors"));
    let cli = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", app.db.database_url())
            .env("CONSOLE_AUDIT_ANCHOR_DIR", &anchors)
            .env_remove("CONSOLE_CONFIG")
            .output()
            .unwrap()
    };
    // The console anchors its head about once a second; the CLI checks it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let ok = cli(&["audit", "verify"]);
    let out = String::from_utf8_lossy(&ok.stdout).to_string();
    assert!(
        ok.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("signed decisions hold: 1 checked"), "{out}");

    // Someone with the database drops the triggers and edits the evidence.
    let drop = if app.db.database_url().starts_with("sqlite") {
        "DROP TRIGGER audit_events_no_update"
    } else {
        "DROP TRIGGER audit_events_no_update ON audit_events"
    };
    sqlx::query(drop).execute(store.pool()).await.unwrap();
    let edited: String = sqlx::query_scalar("SELECT details FROM audit_events WHERE seq = $1")
        .bind(seq)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let edited = edited.replace(evidence.as_str().unwrap(), &"f".repeat(64));
    sqlx::query("UPDATE audit_events SET details = $1 WHERE seq = $2")
        .bind(&edited)
        .bind(seq)
        .execute(store.pool())
        .await
        .unwrap();
    let tampered = cli(&["audit", "verify"]);
    let said = String::from_utf8_lossy(&tampered.stderr).to_string();
    assert_eq!(tampered.status.code(), Some(3), "{said}");
    assert!(
        said.contains(&format!("signed decision {decision} (event #{seq})")),
        "{said}"
    );
    let export = cli(&["audit", "export", "--format", "jsonl"]);
    assert!(export.status.success());
    std::fs::write(dir.path().join("trail.jsonl"), &export.stdout).unwrap();
    let offline = std::process::Command::new(BIN)
        .args(["audit", "verify", "--export", "trail.jsonl"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&offline.stderr).to_string();
    assert_eq!(offline.status.code(), Some(3), "{said}");
    assert!(
        said.contains(&format!("signed decision {decision} (event #{seq})")),
        "{said}"
    );
}
