//! The store test-suite, run on SQLite and on PostgreSQL: the same behaviour
//! is required of both backends.

use crate::common::TestDb;

on_both_backends! {
    fresh_store_migrates_to_the_current_level => fresh_store_migrates;
    migrating_twice_is_a_no_op => migrate_twice;
    store_reports_its_backend_and_hides_credentials => backend_and_location;
    store_facts_survive_reconnecting => facts_persist;
}

async fn fresh_store_migrates(db: TestDb) {
    let store = db.connect().await;
    let before = store.migration_level().await.unwrap();
    assert_eq!(before.applied_count, 0);
    assert!(!before.is_current());
    assert!(before.known_count >= 1);

    let after = store.migrate().await.unwrap();
    assert!(after.is_current(), "{after:?}");
    assert_eq!(after.applied_count, after.known_count);
    assert_eq!(after.applied_version, 21);
    assert_eq!(after.applied_description, "passkeys");
    store.ping().await.unwrap();
}

async fn migrate_twice(db: TestDb) {
    let store = db.store().await;
    let first = store.migration_level().await.unwrap();
    let id = store.meta("instance_id").await.unwrap();
    let second = store.migrate().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        store.meta("instance_id").await.unwrap(),
        id,
        "re-running migrations must not reseed"
    );
}

async fn backend_and_location(db: TestDb) {
    let store = db.store().await;
    assert_eq!(store.backend(), db.url.backend());
    let location = store.location();
    assert!(!location.is_empty());
    if let server::db::StoreUrl::Sqlite { path } = &db.url {
        assert!(
            path.exists(),
            "the SQLite file and its directory are created"
        );
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

async fn facts_persist(db: TestDb) {
    let store = db.store().await;
    let id = store
        .meta("instance_id")
        .await
        .unwrap()
        .expect("instance id seeded");
    assert_eq!(id.len(), 32, "{id}");
    let created: i64 = store
        .meta("created_at_ms")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(created > 1_700_000_000_000, "{created}");
    assert_eq!(store.meta("no such key").await.unwrap(), None);
    store.close().await;

    let again = db.connect().await;
    assert_eq!(
        again.meta("instance_id").await.unwrap().as_deref(),
        Some(id.as_str())
    );
    assert!(again.migration_level().await.unwrap().is_current());
}
