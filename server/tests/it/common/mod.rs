//! Test support: a fresh database per test on either backend, and the whole
//! console served on an ephemeral port.
#![allow(dead_code)]

pub mod fixtures;
pub mod plan_api;
pub mod prometheus;
pub mod targets;
pub mod team;
pub mod world;

use std::net::SocketAddr;

use app::access::Role;
use server::audit::{Actor, ClientInfo};
use server::auth::session_store::ConsoleSessionStore;
use server::auth::users;
use server::config::Config;
use server::db::{Store, StoreUrl};
use server::http::{self, AppState};
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The server the PostgreSQL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test only (dropped even when the test panics).
pub struct TestDb {
    pub url: StoreUrl,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("nested").join("console.db");
                TestDb {
                    url: StoreUrl::Sqlite { path },
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("rc_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the store tests and could not be reached at {admin}: {e}. \
                         Run scripts/test (it finds or starts one) or set TEST_DATABASE_URL."
                    )
                });
                // The name is generated above, never user input.
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: StoreUrl::Postgres { url },
                    // Where its audit anchor is kept.
                    _dir: Some(tempfile::tempdir().expect("a temporary directory")),
                    pg_name: Some(name),
                }
            }
        }
    }

    /// A connected, un-migrated store (a PostgreSQL one keeps its audit
    /// anchor in the test's own directory).
    pub async fn connect(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .expect("connect to the test database");
        match (&self.url, &self._dir) {
            (StoreUrl::Postgres { .. }, Some(dir)) => store.with_anchor_dir(self.anchor_dir(dir)),
            _ => store,
        }
    }

    /// Where a PostgreSQL store's anchor is kept (for the CLI run beside it).
    pub fn anchor_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| self.anchor_dir(d))
    }

    fn anchor_dir(&self, dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("audit-anchors")
    }

    /// A connected, migrated store, anchored as the console anchors a new
    /// one (before anything writes to it).
    pub async fn store(&self) -> Store {
        let store = self.connect().await;
        store.migrate().await.expect("migrate the test database");
        server::audit::anchor::checkpoint(&store)
            .await
            .expect("anchor the new store");
        store
    }

    pub fn database_url(&self) -> String {
        match &self.url {
            StoreUrl::Sqlite { path } => format!("sqlite://{}", path.display()),
            StoreUrl::Postgres { url } => url.to_string(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside any runtime we may block: use a thread of its own.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Runs an async test body once per backend, each on its own fresh database.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident => $body:ident;)+) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$body($crate::common::TestDb::new($crate::common::Backend::Sqlite).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$body($crate::common::TestDb::new($crate::common::Backend::Postgres).await).await
                }
            }
        )+
    };
}

/// The console served on 127.0.0.1:0 over a fresh database.
pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        Self::spawn_on(db, store).await
    }

    /// Serves over `db` with the default settings.
    pub async fn on(db: TestDb) -> TestApp {
        Self::spawn_db_with(db, |_| {}).await
    }

    /// Serves with settings changed from the defaults by `tune`.
    pub async fn spawn_with(backend: Backend, tune: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_db_with(TestDb::new(backend).await, tune).await
    }

    /// Serves over `db` with settings changed from the defaults by `tune`.
    pub async fn spawn_db_with(db: TestDb, tune: impl FnOnce(&mut Config)) -> TestApp {
        let store = db.store().await;
        let mut config = Config {
            site_root: "target/site".into(),
            ..Config::default()
        };
        tune(&mut config);
        Self::serve(db, store, config).await
    }

    /// Serves over `store` as it is (e.g. not migrated).
    pub async fn spawn_on(db: TestDb, store: Store) -> TestApp {
        let config = Config {
            site_root: "target/site".into(),
            ..Config::default()
        };
        Self::serve(db, store, config).await
    }

    async fn serve(db: TestDb, store: Store, config: Config) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        // The real start-up (first admin, sessions, background work, resumed
        // runs), except over a store left un-migrated on purpose: start-up
        // needs its tables, and `serve` migrates before it.
        let state = if store.migration_level().await.unwrap().is_current() {
            server::startup::start(store, &config, addr)
                .await
                .expect("start-up")
                .state
        } else {
            let sessions = ConsoleSessionStore::open(&store)
                .await
                .expect("session store");
            AppState::new(store, sessions, &config, addr).expect("app state")
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(http::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestApp {
            base: format!("http://{addr}"),
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            db,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Adds a user with `roles` and returns their password.
    pub async fn add_user(&self, username: &str, roles: &[Role]) -> String {
        let password = format!("{username}-password-long");
        users::create(
            &self.state.store,
            &Actor::System,
            &ClientInfo::default(),
            username,
            &password,
            roles,
        )
        .await
        .expect("create user");
        password
    }

    /// A browser-like client: keeps cookies, sends this console's Origin on
    /// every request (as a browser does on same-origin posts), never follows
    /// redirects.
    pub fn browser(&self) -> reqwest::Client {
        self.browser_from([127, 0, 0, 1])
    }

    /// A browser-like client connecting from another loopback address, to
    /// stand for another machine.
    pub fn browser_from(&self, ip: [u8; 4]) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ORIGIN, self.base.parse().unwrap());
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Posts the sign-in form; returns the response (a redirect).
    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/auth/login"))
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("POST /auth/login")
    }

    /// A signed-in browser-like client for a new user with `roles`.
    pub async fn signed_in(&self, username: &str, roles: &[Role]) -> reqwest::Client {
        let password = self.add_user(username, roles).await;
        let client = self.browser();
        let res = self.sign_in(&client, username, &password).await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/", "sign-in of {username} should succeed");
        client
    }

    /// A client sending a new plans:write (and plans:read) token that
    /// `creator` made, as a deploy pipeline would.
    pub async fn pipeline(&self, creator: Actor) -> reqwest::Client {
        let secret = server::auth::tokens::create(
            &self.state.store,
            &creator,
            &ClientInfo::default(),
            "pipeline",
            &[
                app::access::Scope::PlansWrite,
                app::access::Scope::PlansRead,
            ],
            None,
            &environments(),
        )
        .await
        .unwrap()
        .secret;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {secret}").parse().unwrap(),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap()
    }

    /// Calls a server function (URL-encoded form, as the browser does).
    pub async fn server_fn(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("server function call")
    }

    /// Stops the server and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

/// The `Location` header of a redirect.
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub use crate::common::fixtures::SCHOOL_PLAN;

/// The console's default environments.
pub fn environments() -> Vec<String> {
    server::config::DEFAULT_ENVIRONMENTS
        .map(String::from)
        .to_vec()
}

pub use plan_api::PlanApi;

/// Sends a request and reads its whole answer, for a test that needs only
/// the body (it fails on a transport error, whatever the status).
pub trait Fetch {
    fn body_text(self) -> impl std::future::Future<Output = String>;
    fn body_json<T: serde::de::DeserializeOwned>(self) -> impl std::future::Future<Output = T>;
    /// The status and the JSON body (`Null` when the body is not JSON).
    fn answer(self) -> impl std::future::Future<Output = (u16, serde_json::Value)>;
    /// The status and the body as text.
    fn answer_text(self) -> impl std::future::Future<Output = (u16, String)>;
}

impl Fetch for reqwest::RequestBuilder {
    async fn body_text(self) -> String {
        self.send().await.unwrap().text().await.unwrap()
    }

    async fn body_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.send().await.unwrap().json().await.unwrap()
    }

    async fn answer(self) -> (u16, serde_json::Value) {
        let res = self.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    async fn answer_text(self) -> (u16, String) {
        let res = self.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// The audit events of `action`, oldest first, as (actor kind, details);
/// only those about `plan_id` when it is given.
pub async fn audited(
    app: &TestApp,
    action: &str,
    plan_id: Option<&str>,
) -> Vec<(String, serde_json::Value)> {
    let rows: Vec<(String, String)> = match plan_id {
        Some(id) => sqlx::query_as(
            "SELECT actor_kind, details FROM audit_events \
             WHERE action = $1 AND subject = $2 ORDER BY seq",
        )
        .bind(action)
        .bind(format!("plan:{id}")),
        None => sqlx::query_as(
            "SELECT actor_kind, details FROM audit_events WHERE action = $1 ORDER BY seq",
        )
        .bind(action),
    }
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(actor, d)| (actor, serde_json::from_str(&d).unwrap()))
        .collect()
}

/// The entry for `environment` of a JSON list of environments (a flag's
/// `environments`, a summary's `exposures`); there must be one.
pub fn for_env(list: &serde_json::Value, environment: &str) -> serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["environment"] == environment)
        .unwrap_or_else(|| panic!("no {environment} in {list}"))
        .clone()
}

/// An answer that must be a refusal with `status` whose message contains
/// `says`; its body.
#[track_caller]
pub fn refused(answer: (u16, serde_json::Value), status: u16, says: &str) -> serde_json::Value {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    assert!(error_of(&body).contains(says), "expected {says:?}: {body}");
    body
}

/// The message of an error answer (`{"error": "…"}`), or "" when there is none.
pub fn error_of(body: &serde_json::Value) -> String {
    body["error"].as_str().unwrap_or_default().to_string()
}
