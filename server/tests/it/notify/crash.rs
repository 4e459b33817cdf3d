//! No notification lost, none taken twice: a console process announces a
//! scripted rollout to a receiver that goes down; the console is SIGKILLed
//! while deliveries wait and restarted after more events were written
//! without it; once the receiver is back it has taken every announced
//! event of the trail exactly once by idempotency key, in the trail's
//! order, each with a valid signature.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::receiver::{Receiver, SECRET};
use crate::common::fixtures::NOTIFY;
use crate::common::{Backend, PlanApi, TestApp, TestDb};
use app::access::Role;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_rollout-console");

fn serve(dir: &std::path::Path) -> Child {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env("CONSOLE_CONFIG", dir.join("console.toml"))
        .env("HOOK_SECRET", SECRET)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the console");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening on http://") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the console starts");
    child
}

/// One plan's rollout as far as its approval: five announced events
/// (import, activate, start, request, approve).
async fn rollout(app: &TestApp, (olga, dana): (&reqwest::Client, &reqwest::Client), name: &str) {
    let source = NOTIFY
        .replace("name = \"Announced\"", &format!("name = \"{name}\""))
        .replace(
            "flag = \"announced\"",
            &format!("flag = \"announced_{name}\""),
        );
    let plan = PlanApi::import(app, olga, &source).await;
    let pilot = super::ready_for_approval(&plan, olga).await;
    assert_eq!(plan.on_phase(olga, "request_approval", &pilot).await.0, 200);
    let evidence = plan.phase(dana, 0).await["evidence_hash"].clone();
    let decide = json!({"command": "decide", "phase_id": pilot, "verdict": "approve", "comment": "", "evidence": evidence});
    assert_eq!(plan.command(dana, decide).await.0, 200);
}

async fn until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < end, "{what} within {secs} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_receiver_and_a_sigkill_lose_nothing_and_repeat_nothing() {
    let receiver = Receiver::default();
    let base = receiver.start().await;
    // The rollout is driven through an in-process console without
    // endpoints; the console process announces it.
    let app = TestApp::on(TestDb::new(Backend::Sqlite).await).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("console.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\n\
             [notify.hook]\nurl = \"{base}/hook\"\nsecret_env = \"HOOK_SECRET\"\nevents = [\"*\"]\n",
            app.db.database_url()
        ),
    )
    .unwrap();
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let dana = app.signed_in("dana", &[Role::Approver]).await;
    let people = (&olga, &dana);
    let mut console = serve(dir.path());
    super::listening(&app.state.store, 1).await;
    let start: i64 = sqlx::query_scalar("SELECT seq FROM trail_cursors WHERE reader = 'hook'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();

    rollout(&app, people, "a").await;
    until("rollout A delivered", 30, || {
        receiver.taken("hook").len() == 5
    })
    .await;

    receiver.set_down(true);
    rollout(&app, people, "b").await;
    until("rollout B's first delivery failed twice", 30, || {
        receiver
            .attempts("hook")
            .iter()
            .filter(|s| !s.taken)
            .count()
            >= 2
    })
    .await;
    console.kill().unwrap();
    console.wait().unwrap();
    rollout(&app, people, "c").await;

    let mut console = serve(dir.path());
    tokio::time::sleep(Duration::from_secs(2)).await;
    receiver.set_down(false);

    // Every announced event of the trail since the endpoint began, once.
    let trail: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, action FROM audit_events WHERE seq > $1 ORDER BY seq")
            .bind(start)
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    let announced: Vec<(i64, String)> = trail
        .into_iter()
        .filter(|(_, a)| server::config::NOTIFIABLE_EVENTS.contains(&a.as_str()))
        .collect();
    assert_eq!(announced.len(), 15, "{announced:?}");
    until("every event delivered", 120, || {
        receiver.taken("hook").len() >= announced.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let taken: Vec<(i64, String)> = receiver
        .taken("hook")
        .iter()
        .map(|s| {
            (
                s.body["data"]["event"].as_i64().unwrap(),
                s.body["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(taken, announced, "each once, in the trail's order");
    let attempts = receiver.attempts("hook");
    assert!(
        attempts.iter().all(|s| s.signed == Some(true)),
        "every attempt signed: {attempts:?}"
    );
    // One key per event, whatever the attempts and the restart.
    let mut keys = std::collections::BTreeMap::new();
    for s in &attempts {
        let seq = s.body["data"]["event"].as_i64().unwrap();
        assert_eq!(keys.entry(seq).or_insert_with(|| s.id.clone()), &s.id);
    }
    let delivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notify_deliveries WHERE status = 'delivered'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(delivered, 15);
    console.kill().unwrap();
    console.wait().unwrap();
}
