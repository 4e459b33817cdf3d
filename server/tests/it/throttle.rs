//! Sign-in throttling over real HTTP: a burst of wrong passwords is slowed
//! and then refused per account and per address, released after its
//! window, checked with only the free failures counted, and never locks out
//! an owner signing in from an address that is not guessing, nor a known
//! colleague behind the same NAT.
use std::time::Duration;

use crate::common::{location, Backend, TestApp};
use app::access::Role;

#[tokio::test]
async fn brute_force_is_throttled_then_released() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let pw = app.add_user("olga", &[Role::Operator]).await;
    let client = app.browser();
    for i in 1..=5 {
        let res = app.sign_in(&client, "olga", "wrong-password-xx").await;
        assert_eq!(
            location(&res),
            "/login?error=invalid&next=%2F",
            "attempt {i}"
        );
    }
    // Even the right password waits now.
    let res = app.sign_in(&client, "olga", &pw).await;
    let loc = location(&res);
    assert!(loc.starts_with("/login?error=throttled&retry="), "{loc}");
    // The wait is short.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let res = app.sign_in(&client, "olga", &pw).await;
    assert_eq!(location(&res), "/");
    let failures: Vec<String> = sqlx::query_scalar(
        "SELECT details FROM audit_events WHERE action = 'auth.login_failed' ORDER BY seq",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(
        failures.len(),
        5,
        "refusals while blocked are not recorded one by one"
    );
    assert!(failures.iter().all(|d| d.contains("wrong password")));
    let blocks: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.throttle'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(blocks, 1, "the block itself is recorded");
    app.stop().await;
}

/// 20 wrong passwords at once: exactly FREE_FAILURES (5) are checked, every
/// other one is throttled (before the throttle counted atomically, 8 were).
async fn burst_checks_only_the_free_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("olga", &[Role::Operator]).await;
    let attempts = (0..20).map(|_| {
        let client = app.browser();
        let app = &app;
        async move { location(&app.sign_in(&client, "olga", "wrong-password-xx").await) }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let checked = outcomes
        .iter()
        .filter(|l| l.contains("error=invalid"))
        .count();
    let throttled = outcomes
        .iter()
        .filter(|l| l.contains("error=throttled"))
        .count();
    assert_eq!((checked, throttled), (5, 15), "{outcomes:?}");
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login_failed'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(failures, 5);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_gets_five_checks_on_sqlite() {
    burst_checks_only_the_free_failures(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_gets_five_checks_on_postgres() {
    burst_checks_only_the_free_failures(Backend::Postgres).await;
}

#[tokio::test]
async fn guessing_elsewhere_cannot_lock_the_owner_out() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let pw = app.add_user("olga", &[Role::Operator]).await;
    // Olga signs in from her machine (127.0.0.1) once.
    assert_eq!(
        location(&app.sign_in(&app.browser(), "olga", &pw).await),
        "/"
    );
    // Someone else (127.0.0.2) guesses her password.
    let attacker = app.browser_from([127, 0, 0, 2]);
    for _ in 0..5 {
        app.sign_in(&attacker, "olga", "guess-guess-guess").await;
    }
    let res = app.sign_in(&attacker, "olga", "another-guess-xx").await;
    assert!(
        location(&res).contains("error=throttled"),
        "the attacker waits"
    );
    // An address that never signed in as olga is held back by the account.
    let res = app
        .sign_in(&app.browser_from([127, 0, 0, 3]), "olga", &pw)
        .await;
    assert!(
        location(&res).contains("error=throttled"),
        "{}",
        location(&res)
    );
    // Olga, from her known address, is not held back by the account's failures.
    assert_eq!(
        location(&app.sign_in(&app.browser(), "olga", &pw).await),
        "/"
    );
    // A password typed as a username never reaches the trail.
    app.sign_in(&app.browser_from([127, 0, 0, 4]), "S3cret pass!", "x")
        .await;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT actor_name FROM audit_events WHERE action = 'auth.login_failed'",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    assert!(names.iter().all(|n| !n.contains("S3cret")), "{names:?}");
    assert!(names.contains(&"(not a valid username)".to_string()));
    app.stop().await;
}

/// Colleagues behind one NAT: a burst of wrong passwords from the shared
/// address slows it down, but the right password of an account that has
/// signed in from there before is never refused (an unknown account's is).
#[tokio::test]
async fn a_burst_from_a_shared_address_slows_but_never_refuses_a_known_account() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let pw = app.add_user("ada", &[Role::Admin]).await;
    let newcomer = app.add_user("nina", &[Role::Viewer]).await;
    assert_eq!(
        location(&app.sign_in(&app.browser(), "ada", &pw).await),
        "/"
    );
    for i in 0..12 {
        app.sign_in(&app.browser(), &format!("guess{i}"), "wrong-password-xx")
            .await;
    }
    let refused = app.sign_in(&app.browser(), "nina", &newcomer).await;
    assert!(
        location(&refused).contains("error=throttled"),
        "the address waits: {}",
        location(&refused)
    );
    let started = std::time::Instant::now();
    let res = app.sign_in(&app.browser(), "ada", &pw).await;
    assert_eq!(location(&res), "/", "ada is slowed, not refused");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    app.stop().await;
}
