//! HTTP tests against the whole router served on an ephemeral port.

use crate::common::Fetch;
use crate::common::{location, Backend, TestApp, TestDb};
use app::access::Role;

#[tokio::test]
async fn dashboard_is_server_rendered_with_real_facts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let anonymous = app.get("/").await;
    assert_eq!(anonymous.status(), 303, "pages ask for a sign-in first");
    assert_eq!(location(&anonymous), "/login?next=%2F");
    let viewer = app.signed_in("vera", &[Role::Viewer]).await;
    let res = viewer.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<title>Dashboard · Rollout Console</title>"),
        "{html}"
    );
    assert!(html.contains(env!("CARGO_PKG_VERSION")));
    assert!(html.contains(r#"id="fact-store">sqlite"#), "{html}");
    assert!(
        html.contains("(shown to admins)") && !html.contains("console.db"),
        "where the store lives is for admins only: {html}"
    );
    assert!(html.contains("#21 passkeys (21 of 21 applied)"), "{html}");
    assert!(
        html.contains(r#"data-username="vera""#),
        "the layout shows who is signed in"
    );
    // The hydration scripts point at the bundle cargo-leptos builds.
    assert!(html.contains("/pkg/rollout-console.js"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn pages_and_json_go_out_gzipped_and_nothing_else_is_compressed() {
    use std::io::Read;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let viewer = app.signed_in("vera", &[Role::Viewer]).await;
    let page = viewer
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-encoding"], "gzip");
    let gzipped = page.bytes().await.unwrap();
    let mut html = String::new();
    flate2::read::GzDecoder::new(gzipped.as_ref())
        .read_to_string(&mut html)
        .unwrap();
    assert!(
        html.contains("<title>Dashboard · Rollout Console</title>"),
        "{html}"
    );
    assert!(
        gzipped.len() * 2 < html.len(),
        "{} of {} bytes",
        gzipped.len(),
        html.len()
    );

    // A client that does not ask for gzip gets the page as it is.
    let plain = viewer.get(app.url("/")).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.text().await.unwrap().contains("<title>Dashboard"));

    // JSON over a kilobyte is compressed too (a live redraw's parts are
    // HTML in JSON); small answers and metrics are not (nor is the change
    // feed, which would be held back until a buffer fills).
    let json = viewer
        .get(app.url("/api/v1/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(json.headers()["content-encoding"], "gzip");
    for path in ["/healthz", "/metrics"] {
        let res = viewer
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert!(res.headers().get("content-encoding").is_none(), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_bundle_goes_out_gzipped_to_browsers_that_take_it() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    let wasm = b"\0asm\x01\0\0\0 the bundle".to_vec();
    std::fs::write(pkg.join("rollout-console.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("rollout-console.wasm.gz"), b"gzip bytes").unwrap();
    let root = site.path().to_str().unwrap().to_string();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.site_root = root).await;
    let url = app.url("/pkg/rollout-console.wasm");
    let client = app.browser();

    let gz = client
        .get(&url)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(
        gz.status(),
        200,
        "anyone may load the bundle: the sign-in page needs it"
    );
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["content-type"], "application/wasm");
    assert_eq!(gz.headers()["vary"], "accept-encoding", "caches keep both");
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gzip bytes");

    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["vary"], "accept-encoding");
    assert_eq!(plain.bytes().await.unwrap().as_ref(), wasm.as_slice());

    let missing = client.get(app.url("/pkg/nothing.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn server_function_answers_json() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let anonymous = app.server_fn(&app.browser(), "system_facts", &[]).await;
    assert_eq!(anonymous.status(), 401);
    let viewer = app.signed_in("vera", &[Role::Viewer]).await;
    let res = viewer
        .post(app.url("/api/system_facts"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let facts: app::dto::SystemFacts = res.json().await.unwrap();
    assert_eq!(facts.store, app::dto::StoreBackend::Sqlite);
    assert!(facts.migration.is_current());
    assert!(facts.now_ms >= facts.started_at_ms);
    app.stop().await;
}

#[tokio::test]
async fn unknown_page_is_a_404_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let viewer = app.signed_in("vera", &[Role::Viewer]).await;
    let (status, body) = viewer.get(app.url("/no/such/page")).answer_text().await;
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn(backend).await;
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), 200);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200, "{backend:?}");
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        assert_eq!(body["migration"], 21);
        assert_eq!(
            body["store"],
            if backend == Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn readiness_fails_until_migrations_are_applied() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.connect().await;
    let app = TestApp::spawn_on(db, store).await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("0 of 21 migrations applied"),
        "{body}"
    );
    app.state.store.migrate().await.unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.get("/healthz").await;
    let id = res
        .headers()
        .get("x-request-id")
        .expect("generated request id");
    assert_eq!(id.to_str().unwrap().len(), 36);
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_labelled_by_route_template_method_and_status() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.get("/").await;
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/nothing-here-123").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/",status="303"} 1"#),
        "{text}"
    );
    // Unmatched paths share one label value instead of one series each.
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="unmatched",status="303"} 1"#),
        "{text}"
    );
    assert!(!text.contains("nothing-here-123"));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="+Inf"} 2"#));
    assert!(
        text.contains("process_resident_memory_bytes"),
        "process metrics are exported"
    );
    app.stop().await;
}

#[tokio::test]
async fn promtool_accepts_the_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.get("/").await;
    app.get("/healthz").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    app.stop().await;

    crate::common::prometheus::promtool_accepts(&text);
}

/// Every answer carries the headers that stop framing (clickjacking),
/// sniffing and referrer leaks; a page's CSP allows its hydration script,
/// any other answer's allows nothing.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.signed_in("ada", &[Role::Admin]).await;
    for res in [
        app.get("/login").await,
        app.get("/healthz").await,
        admin.get(app.url("/plans")).send().await.unwrap(),
        admin.get(app.url("/api/v1/plans")).send().await.unwrap(),
    ] {
        let h = res.headers();
        let url = res.url().to_string();
        assert_eq!(h["x-frame-options"], "DENY", "{url}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(h["referrer-policy"], "same-origin", "{url}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp}");
        assert!(
            !csp.contains("'unsafe-inline'"),
            "no inline script or style: {csp}"
        );
        let page = h["content-type"].to_str().unwrap().starts_with("text/html");
        if page {
            assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
            assert!(csp.contains("script-src 'self' 'nonce-"), "{url}: {csp}");
        } else {
            assert!(csp.starts_with("default-src 'none';"), "{url}: {csp}");
            assert!(!csp.contains("script-src"), "{url}: {csp}");
        }
    }
    let html = admin.get(app.url("/")).body_text().await;
    assert!(
        html.contains("console.db"),
        "an admin sees where the store lives"
    );
    app.stop().await;
}

/// A 10 MB server-function body is refused 413 before any handler reads it,
/// with no transport error text (it used to be a 500 quoting the transport).
#[tokio::test]
async fn oversized_server_function_bodies_are_413() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.signed_in("ada", &[Role::Admin]).await;
    let big = "x".repeat(10 * 1024 * 1024);
    let res = admin
        .post(app.url("/api/system_facts"))
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("pad={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: serde_json::Value = res.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("larger than 2 MiB"), "{error}");
    assert!(
        !error.contains("length limit"),
        "no transport text: {error}"
    );
    app.stop().await;
}

/// 1,000 connections that send half a request (a slowloris) are closed once
/// the header-read timeout passes, and a normal request is answered while
/// they hang; a request is never left waiting for a connection slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_and_others_still_answered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.http_header_timeout_secs = 2).await;
    let mut hanging = Vec::new();
    for _ in 0..1_000 {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
            .await
            .unwrap();
        hanging.push(s);
    }
    let started = std::time::Instant::now();
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "answered beside them, not after them: {:?}",
        started.elapsed()
    );
    // Within the timeout (2 s) and a little slack, every one is closed: a
    // read ends (EOF, or a reset, or hyper's 408) rather than waiting.
    let deadline = std::time::Duration::from_secs(6);
    let mut closed = 0;
    for s in &mut hanging {
        let mut buf = [0u8; 512];
        match tokio::time::timeout(deadline.saturating_sub(started.elapsed()), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await
        {
            Ok(()) => closed += 1,
            Err(_) => break,
        }
    }
    assert_eq!(closed, 1_000, "every half-sent request was closed");
    assert!(started.elapsed() < deadline, "{:?}", started.elapsed());
    // A new connection: the client's pooled one sat idle past the header
    // timeout, which closes idle keep-alive connections too.
    let fresh = reqwest::Client::new();
    let res = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}
