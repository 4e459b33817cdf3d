//! The audit trail on both backends: chaining, verification, the triggers that
//! refuse changes, tampering found at its exact seq, atomicity with the change
//! it records, serialized writers, and the review queries.

use crate::common::TestDb;
use app::access::Role;
use app::dto::audit::{AuditQuery, ChainStatus};
use serde_json::json;
use server::audit::query::{self, AuditFilter};
use server::audit::{append, verify::verify, Actor, ClientInfo};
use server::auth::error::IdentityError;
use server::auth::users;
use server::db::Store;

on_both_backends! {
    appended_events_form_an_intact_chain => chain_intact;
    triggers_refuse_update_and_delete => triggers_refuse;
    altered_row_is_reported_at_its_seq => tamper_update;
    removed_rows_are_reported => tamper_delete;
    a_rewritten_chain_fails_against_the_anchor_outside_the_store => tamper_rewrite;
    failed_action_leaves_no_change_and_no_event => failed_action_atomic;
    concurrent_writers_never_share_a_predecessor => concurrent_writers;
    review_filters_and_keyset_pages => review_queries;
    the_pages_badge_covers_events_appended_just_after_a_walk => badge_current;
}

fn alice() -> Actor {
    Actor::User {
        id: "u-alice".into(),
        name: "alice".into(),
    }
}

async fn record(store: &Store, actor: &Actor, action: &str, subject: &str, at_ms: i64) -> i64 {
    let mut tx = store.begin_write().await.unwrap();
    let seq = append(
        &mut tx,
        at_ms,
        actor,
        &ClientInfo {
            addr: "10.0.0.7".into(),
            // Tabs, newlines and backslashes exercise the COPY text escapes.
            user_agent: "test\tagent\\x \n end".into(),
        },
        action,
        subject,
        json!({ "n": at_ms, "note": "ünïcödé \"quoted\"" }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    seq
}

async fn count(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn seed(store: &Store, n: i64) {
    seed_range(store, 1..=n).await;
}

/// Events numbered `seqs` (the next ones in the trail).
async fn seed_range(store: &Store, seqs: std::ops::RangeInclusive<i64>) {
    for i in seqs {
        let subject = format!("thing:{i}");
        assert_eq!(
            record(store, &alice(), "test.step", &subject, 1_000 + i).await,
            i
        );
    }
}

async fn chain_intact(db: TestDb) {
    let store = db.store().await;
    let empty = verify(&store).await.unwrap();
    assert_eq!(empty.status, ChainStatus::Intact { through_seq: 0 });
    seed(&store, 30).await;
    let report = verify(&store).await.unwrap();
    assert_eq!(report.status, ChainStatus::Intact { through_seq: 30 });
    assert_eq!(report.events_checked, 30);
    assert_eq!(report.headline(), "chain intact through #30");
    // Each event names its predecessor's hash.
    let links: Vec<(String, String)> =
        sqlx::query_as("SELECT prev_hash, hash FROM audit_events ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(links[0].0, server::audit::chain::GENESIS);
    for pair in links.windows(2) {
        assert_eq!(pair[1].0, pair[0].1);
    }
}

async fn triggers_refuse(db: TestDb) {
    let store = db.store().await;
    seed(&store, 3).await;
    let update = sqlx::query("UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2")
        .execute(store.pool())
        .await
        .expect_err("UPDATE must be refused");
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = sqlx::query("DELETE FROM audit_events WHERE seq = 3")
        .execute(store.pool())
        .await
        .expect_err("DELETE must be refused");
    assert!(delete.to_string().contains("append-only"), "{delete}");
    if store.backend() == app::dto::StoreBackend::Postgres {
        let truncate = sqlx::query("TRUNCATE audit_events")
            .execute(store.pool())
            .await
            .expect_err("TRUNCATE must be refused");
        assert!(truncate.to_string().contains("append-only"), "{truncate}");
    }
    assert_eq!(count(&store).await, 3);
    assert_eq!(
        verify(&store).await.unwrap().status,
        ChainStatus::Intact { through_seq: 3 }
    );
}

/// What a superuser could do behind the console's back: drop the triggers.
async fn drop_triggers(store: &Store) {
    let sql = match store.backend() {
        app::dto::StoreBackend::Sqlite => {
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
        }
        app::dto::StoreBackend::Postgres => {
            "DROP TRIGGER audit_events_no_update ON audit_events; DROP TRIGGER audit_events_no_truncate ON audit_events;"
        }
    };
    sqlx::raw_sql(sql).execute(store.pool()).await.unwrap();
}

/// A store with `events` events, its triggers dropped and `sql` run on it:
/// what someone with write access to the database could do.
async fn tampered(db: &TestDb, events: i64, sql: &str) -> Store {
    let store = db.store().await;
    seed(&store, events).await;
    drop_triggers(&store).await;
    sqlx::raw_sql(sql).execute(store.pool()).await.unwrap();
    store
}

async fn tamper_update(db: TestDb) {
    let store = tampered(
        &db,
        12,
        "UPDATE audit_events SET details = '{\"n\":0}' WHERE seq = 7",
    )
    .await;
    let report = verify(&store).await.unwrap();
    match &report.status {
        ChainStatus::Broken { seq, reason } => {
            assert_eq!(*seq, 7);
            assert!(reason.contains("altered"), "{reason}");
        }
        other => panic!("expected a break at #7, got {other:?}"),
    }
    assert_eq!(report.events_checked, 6);
    assert!(report.headline().starts_with("chain broken at #7:"));
}

async fn tamper_delete(db: TestDb) {
    let store = tampered(&db, 10, "DELETE FROM audit_events WHERE seq = 10").await;
    match verify(&store).await.unwrap().status {
        ChainStatus::Broken { seq, reason } => {
            assert_eq!(seq, 10, "{reason}");
            assert!(reason.contains("removed from the end"), "{reason}");
        }
        other => panic!("a cut-off tail must be found: {other:?}"),
    }
    sqlx::query("DELETE FROM audit_events WHERE seq = 4")
        .execute(store.pool())
        .await
        .unwrap();
    match verify(&store).await.unwrap().status {
        ChainStatus::Broken { seq, reason } => {
            assert_eq!(seq, 4);
            assert!(
                reason.contains("expected event #4 but found #5"),
                "{reason}"
            );
        }
        other => panic!("a gap must be found: {other:?}"),
    }
}

/// What plan SQL with ATTACH did before the sandbox: delete one's own
/// events, then rebuild a consistent chain and head over the gap. Only the
/// anchor outside the store can tell.
async fn tamper_rewrite(db: TestDb) {
    let store = db.store().await;
    seed(&store, 10).await;
    server::audit::anchor::checkpoint(&store).await.unwrap();
    drop_triggers(&store).await;
    sqlx::query("DELETE FROM audit_events WHERE seq >= 9")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_events WHERE seq = 8) WHERE id = 1")
        .execute(store.pool())
        .await
        .unwrap();
    match verify(&store).await.unwrap().status {
        ChainStatus::Broken { seq, reason } => {
            assert_eq!(seq, 10, "{reason}");
            assert!(
                reason.contains("ends at #8") && reason.contains("removed"),
                "{reason}"
            );
        }
        other => panic!("a truncated chain with a rewritten head must fail: {other:?}"),
    }
    // Two innocent-looking events in place of the deleted ones: the chain is
    // consistent again, but event #10 is not the anchored one.
    record(&store, &alice(), "test.cover", "thing:9", 5_000).await;
    record(&store, &alice(), "test.cover", "thing:10", 5_001).await;
    match verify(&store).await.unwrap().status {
        ChainStatus::Broken { seq, reason } => {
            assert_eq!(seq, 10, "{reason}");
            assert!(reason.contains("rewritten"), "{reason}");
        }
        other => panic!("a rewritten chain must fail: {other:?}"),
    }
    // And the anchor does not move onto the rewritten chain.
    let refused = server::audit::anchor::checkpoint(&store).await.unwrap_err();
    assert!(refused.contains("not moved"), "{refused}");
}

async fn failed_action_atomic(db: TestDb) {
    let store = db.store().await;
    let client = ClientInfo::default();
    users::create(
        &store,
        &Actor::System,
        &client,
        "dana",
        "a-long-password-1",
        &[Role::Viewer],
    )
    .await
    .unwrap();
    let events = count(&store).await;
    let head: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head")
        .fetch_one(store.pool())
        .await
        .unwrap();
    // The audit event is appended before the insert that then fails.
    let err = users::create(
        &store,
        &Actor::System,
        &client,
        "DANA",
        "a-long-password-2",
        &[Role::Admin],
    )
    .await
    .expect_err("the name is taken");
    assert!(
        matches!(err, IdentityError::Conflict(_, ref m) if m.contains("\"dana\" is taken")),
        "{err:?}"
    );
    assert_eq!(
        count(&store).await,
        events,
        "no audit event without its change"
    );
    let head_after: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(head_after, head);
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_roles WHERE role = 'admin'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(admins, 0, "no change without its event");
    // The chain goes on from where it was.
    record(&store, &alice(), "test.after", "x", 5).await;
    assert!(matches!(
        verify(&store).await.unwrap().status,
        ChainStatus::Intact { .. }
    ));
}

async fn concurrent_writers(db: TestDb) {
    let store = db.store().await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                record(&store, &alice(), "test.concurrent", &format!("t:{i}"), i).await
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT prev_hash) FROM audit_events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(distinct, 24);
    assert_eq!(
        verify(&store).await.unwrap().status,
        ChainStatus::Intact { through_seq: 24 }
    );
}

async fn review_queries(db: TestDb) {
    let store = db.store().await;
    let bob = Actor::User {
        id: "u-bob".into(),
        name: "bob".into(),
    };
    for i in 0..30 {
        let (actor, action) = if i % 3 == 0 {
            (&bob, "plan.create")
        } else {
            (&alice(), "auth.login")
        };
        let mut tx = store.begin_write().await.unwrap();
        append(
            &mut tx,
            1_000 * i,
            actor,
            &ClientInfo::default(),
            action,
            &format!("plan:{}", i % 2),
            json!({}),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let filter = |q: AuditQuery| AuditFilter::parse(&q).unwrap();

    // Keyset pages, newest first, no overlap, nothing lost.
    let all = filter(AuditQuery::default());
    let (first, next) = query::newest_first(&store, &all, None, 12).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (19..=30).rev().collect::<Vec<_>>()
    );
    assert_eq!(next, Some(19));
    let (second, next) = query::newest_first(&store, &all, next, 12).await.unwrap();
    assert_eq!(second.first().unwrap().seq, 18);
    let (third, next) = query::newest_first(&store, &all, next, 12).await.unwrap();
    assert_eq!(third.len(), 6);
    assert_eq!(next, None);

    let by_bob = filter(AuditQuery {
        actor: Some("bob".into()),
        ..Default::default()
    });
    let (events, _) = query::newest_first(&store, &by_bob, None, 50)
        .await
        .unwrap();
    assert_eq!(events.len(), 10);
    assert!(events
        .iter()
        .all(|e| e.actor_name == "bob" && e.action == "plan.create"));

    let prefixed = filter(AuditQuery {
        action: Some("auth.*".into()),
        subject: Some("plan:1".into()),
        from: Some("5000".into()),
        to: Some("20000".into()),
        ..Default::default()
    });
    let (events, _) = query::newest_first(&store, &prefixed, None, 50)
        .await
        .unwrap();
    let times: Vec<i64> = events.iter().map(|e| e.at_ms).collect();
    // i in 5..20, odd (subject plan:1), not a multiple of 3 (alice's logins).
    assert_eq!(times, vec![19_000, 17_000, 13_000, 11_000, 7_000, 5_000]);

    // A value that looks like SQL is only ever a bound parameter.
    let hostile = filter(AuditQuery {
        actor: Some("x' OR '1'='1".into()),
        ..Default::default()
    });
    assert!(query::newest_first(&store, &hostile, None, 50)
        .await
        .unwrap()
        .0
        .is_empty());

    let oldest = query::oldest_first(&store, &by_bob, 10, 2).await.unwrap();
    assert_eq!(
        oldest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![13, 16]
    );
    assert_eq!(query::one(&store, 7).await.unwrap().unwrap().seq, 7);
    assert!(query::one(&store, 700).await.unwrap().is_none());
}

on_both_backends! {
    the_last_admin_cannot_be_disabled => last_admin;
}

async fn last_admin(db: TestDb) {
    let store = db.store().await;
    let client = ClientInfo::default();
    for name in ["ann", "bea"] {
        users::create(
            &store,
            &Actor::System,
            &client,
            name,
            "a-long-password-1",
            &[Role::Admin],
        )
        .await
        .unwrap();
    }
    // Both try to disable the other at the same moment: one must fail.
    let (a, b) = tokio::join!(
        users::set_disabled(&store, &Actor::System, &client, "ann", true),
        users::set_disabled(&store, &Actor::System, &client, "bea", true),
    );
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one succeeds: {a:?} / {b:?}"
    );
    let err = a.err().or(b.err()).unwrap();
    assert!(
        matches!(err, IdentityError::Invalid(ref m) if m.contains("last enabled admin")),
        "{err:?}"
    );
    assert!(server::auth::users::active_admin_exists(&store)
        .await
        .unwrap());
}

/// The audit page's badge right after a walk (the one at start, or "Verify
/// now") and a few more events: it covers the newest event the page shows,
/// not the walk of a moment ago.
async fn badge_current(db: TestDb) {
    use app::service::{AuditPort, Caller};
    let store = db.store().await;
    seed(&store, 3).await;
    let audit = server::audit::AuditService::new(store.clone());
    assert_eq!(
        audit.verify().await.unwrap().headline(),
        "chain intact through #3"
    );
    seed_range(&store, 4..=9).await;
    let auditor = Caller {
        principal: Some(app::access::Principal::User {
            id: "u-alice".into(),
            username: "alice".into(),
            roles: vec![Role::Viewer],
        }),
        client_addr: "10.0.0.7".into(),
        user_agent: "test".into(),
    };
    let report = audit.chain_report(&auditor).await.unwrap();
    assert_eq!(report.headline(), "chain intact through #9");
}
