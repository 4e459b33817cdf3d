//! Identity over real HTTP: sign-in, session id rotation, idle and absolute
//! timeouts, CSRF, token scopes, disabling, and authorization of
//! pages and server functions.
use crate::common;

use std::time::Duration;

use crate::common::{location, Backend, TestApp};
use app::access::{Role, Scope};
use server::audit::{Actor, ClientInfo};
use server::auth::tokens;

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("rollout_session="))
        .map(|c| c.to_string())
}

async fn status_of(client: &reqwest::Client, app: &TestApp, path: &str) -> u16 {
    client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_rotates_the_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let pw = app.add_user("olga", &[Role::Operator]).await;
    let client = app.browser();
    let first = app.sign_in(&client, "olga", &pw).await;
    let cookie = session_cookie(&first).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");
    let first_id = cookie.split(';').next().unwrap().to_string();

    // Signing in again on the same session gives a new id; the old one is dead.
    let second = app.sign_in(&client, "olga", &pw).await;
    let second_id = session_cookie(&second)
        .expect("a new cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(first_id, second_id);
    let replay = app
        .client
        .get(app.url("/"))
        .header("cookie", &first_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        303,
        "the pre-login id must not be signed in"
    );
    assert_eq!(status_of(&client, &app, "/").await, 200);
    // The store keeps a hash of the id, never the id a cookie carries:
    // someone who reads the store cannot sign in with what they read.
    let second_value = second_id.split_once('=').unwrap().1.to_string();
    let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM tower_sessions")
        .fetch_all(app.state.store.pool())
        .await
        .unwrap();
    assert!(
        !stored.is_empty() && !stored.contains(&second_value),
        "stored hashed: {stored:?}"
    );
    let stolen = app
        .client
        .get(app.url("/"))
        .header(
            "cookie",
            format!("{}={}", second_id.split_once('=').unwrap().0, stored[0]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        stolen.status(),
        303,
        "the stored value does not sign anyone in"
    );
    app.stop().await;
}

#[tokio::test]
async fn https_public_url_makes_the_cookie_secure_with_the_host_prefix() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.public_url = Some("https://rollout.example.com".into())
    })
    .await;
    let pw = app.add_user("olga", &[Role::Operator]).await;
    let res = app
        .browser()
        .post(app.url("/auth/login"))
        .header("origin", "https://rollout.example.com")
        .form(&[("username", "olga"), ("password", pw.as_str())])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-rollout_session="))
        .expect("a __Host- cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    app.stop().await;
}

#[tokio::test]
async fn idle_sessions_end_server_side() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.session_idle_timeout_secs = 1).await;
    let pw = app.add_user("olga", &[Role::Operator]).await;
    let res = app.sign_in(&app.browser(), "olga", &pw).await;
    // Replay the raw cookie, as a client that ignores its Max-Age would.
    let cookie = session_cookie(&res)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let with_cookie = |path: &str| {
        app.client
            .get(app.url(path))
            .header("cookie", cookie.clone())
            .send()
    };
    assert_eq!(with_cookie("/").await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let res = with_cookie("/audit").await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Faudit");
    app.stop().await;
}

#[tokio::test]
async fn busy_sessions_still_end_at_the_absolute_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.session_idle_timeout_secs = 60;
        c.session_absolute_timeout_secs = 2;
    })
    .await;
    let client = app.signed_in("olga", &[Role::Operator]).await;
    for _ in 0..3 {
        assert_eq!(status_of(&client, &app, "/").await, 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status_of(&client, &app, "/").await, 303);
    app.stop().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.signed_in("ada", &[Role::Admin]).await;
    let form = [
        ("username", "mallory"),
        ("password", "a-long-password-9"),
        ("role_admin", "on"),
    ];
    let cross = admin
        .post(app.url("/api/user_create"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let body: serde_json::Value = cross.json().await.unwrap();
    assert!(
        crate::common::error_of(&body).contains("cross-site"),
        "{body}"
    );
    // A foreign Origin alone is refused too, and so is no Origin at all.
    let foreign = admin
        .post(app.url("/api/user_create"))
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let no_origin = app
        .client
        .post(app.url("/auth/login"))
        .form(&[("username", "ada"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = 'mallory'")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(exists, 0);
    // The same request from the console's own origin works.
    let same = app.server_fn(&admin, "user_create", &form).await;
    assert_eq!(same.status(), 200, "{}", same.text().await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn token_scopes_are_enforced() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let store = &app.state.store;
    let (actor, client) = (Actor::System, ClientInfo::default());
    let audit_token = tokens::create(
        store,
        &actor,
        &client,
        "auditor bot",
        &[Scope::AuditRead],
        None,
        &common::environments(),
    )
    .await
    .unwrap();
    let flags_token = tokens::create(
        store,
        &actor,
        &client,
        "flag reader",
        &[Scope::FlagsRead],
        Some("production"),
        &common::environments(),
    )
    .await
    .unwrap();
    let get = |secret: String| {
        app.client
            .get(app.url("/api/v1/audit/events"))
            .bearer_auth(secret)
            .send()
    };
    let ok = get(audit_token.secret.clone()).await.unwrap();
    assert_eq!(ok.status(), 200);
    let page: app::dto::audit::AuditPage = ok.json().await.unwrap();
    assert!(page.events.iter().any(|e| e.action == "token.create"));
    assert_eq!(get(flags_token.secret.clone()).await.unwrap().status(), 403);
    assert_eq!(
        get("rct_not-a-real-token".into()).await.unwrap().status(),
        401
    );
    assert_eq!(app.get("/api/v1/audit/events").await.status(), 401);
    // A token never manages people, whatever it is sent to.
    let res = app
        .client
        .post(app.url("/api/user_create"))
        .bearer_auth(&audit_token.secret)
        .form(&[
            ("username", "bot-made"),
            ("password", "a-long-password-9"),
            ("role_admin", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Last use is recorded; revocation is immediate.
    let listed = tokens::list(store).await.unwrap();
    assert!(listed
        .iter()
        .find(|t| t.id == audit_token.token.id)
        .unwrap()
        .last_used_at_ms
        .is_some());
    tokens::revoke(store, &actor, &client, &audit_token.token.id)
        .await
        .unwrap();
    assert_eq!(get(audit_token.secret.clone()).await.unwrap().status(), 401);
    app.stop().await;
}

/// An open SSE stream stops delivering once its user is disabled (it used to
/// go on for as long as the connection stayed open).
#[tokio::test]
async fn an_open_event_stream_ends_when_its_user_is_disabled() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.signed_in("ada", &[Role::Admin]).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    let id = common::PlanApi::import(&app, &olga, common::SCHOOL_PLAN)
        .await
        .id;
    let mut stream = olga
        .get(app.url(&format!("/api/v1/plans/{id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    disable(&app, &admin, "olga").await;
    // The stream ends (None) within a few checks; keep-alives may come first.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(_chunk) = stream.chunk().await.unwrap() {}
    })
    .await;
    assert!(ended.is_ok(), "the stream of a disabled user must end");
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_users_session_dies_at_once() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.signed_in("ada", &[Role::Admin]).await;
    let olga = app.signed_in("olga", &[Role::Operator]).await;
    assert_eq!(status_of(&olga, &app, "/").await, 200);
    disable(&app, &admin, "olga").await;
    assert_eq!(status_of(&olga, &app, "/").await, 303);
    // And she cannot sign in again.
    let res = app
        .sign_in(&app.browser(), "olga", "olga-password-long")
        .await;
    assert_eq!(location(&res), "/login?error=invalid&next=%2F");
    app.stop().await;
}

#[tokio::test]
async fn viewers_cannot_reach_admin_pages_or_actions() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let viewer = app.signed_in("vic", &[Role::Viewer]).await;
    let page = viewer.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("you are not allowed to manage users"));
    let res = app
        .server_fn(
            &viewer,
            "user_create",
            &[
                ("username", "sneaky"),
                ("password", "a-long-password-9"),
                ("role_admin", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .server_fn(
            &viewer,
            "token_create",
            &[("name", "mine"), ("scope_audit_read", "on")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(
        users, 2,
        "the viewer, and the admin start-up made; nothing else"
    );
    // The audit page is for every role.
    assert_eq!(status_of(&viewer, &app, "/audit").await, 200);
    app.stop().await;
}

#[tokio::test]
async fn sign_in_and_out_are_audited_and_the_session_is_gone_after() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let client = app.signed_in("olga", &[Role::Operator]).await;
    let sessions = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tower_sessions.session")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap()
    };
    assert_eq!(sessions().await, 1);
    let res = client.post(app.url("/auth/logout")).send().await.unwrap();
    assert_eq!(location(&res), "/login?signed_out=1");
    assert_eq!(
        sessions().await,
        0,
        "the session row is deleted server-side"
    );
    assert_eq!(status_of(&client, &app, "/").await, 303);
    let actions: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, actor_name FROM audit_events WHERE action LIKE 'auth.%' ORDER BY seq",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(
        actions,
        vec![
            ("auth.login".to_string(), "olga".to_string()),
            ("auth.logout".to_string(), "olga".to_string())
        ]
    );
    app.stop().await;
}

/// `admin` disables `username` through the admin page's server function.
async fn disable(app: &TestApp, admin: &reqwest::Client, username: &str) {
    let res = app
        .server_fn(
            admin,
            "user_set_disabled",
            &[("username", username), ("disabled", "true")],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}
