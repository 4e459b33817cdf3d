//! Accepting connections with limits no slow or hostile client can outwait:
//! a request's headers must arrive within `header_timeout` (HTTP/1; hyper
//! closes the connection otherwise), at most `max_connections` are open at
//! once (beyond that the console stops accepting until one closes, so it
//! never runs out of file descriptors and refuses everyone), and a request
//! that has not been answered within `request_timeout` gets a 408 (a
//! streamed body, such as live updates or an export, is not cut off: the
//! time runs until its first byte). The soft limit on open files is raised
//! to the hard one at start, and the connection limit kept below it.
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The limits of `serve`, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(config: &crate::config::Config) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(config.http_header_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(config.http_request_timeout_secs.max(1)),
            max_connections: config.http_max_connections.max(1),
        }
    }
}

/// File descriptors kept for the store's and targets' connections, the
/// SQLite files and the logs, beyond the HTTP connections.
const RESERVED_FILES: u64 = 256;

/// Raises the soft limit on open files to the hard one, and returns how
/// many connections fit under it (at most `wanted`).
pub fn connections_that_fit(wanted: usize) -> usize {
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    let soft = unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return wanted;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        limit.rlim_cur
    };
    let fit = soft.saturating_sub(RESERVED_FILES).max(16);
    wanted.min(usize::try_from(fit).unwrap_or(usize::MAX))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open
/// requests finish (for at most 10 s: a live-update stream never does).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = connections_that_fit(limits.max_connections);
    if max < limits.max_connections {
        tracing::warn!(
            wanted = limits.max_connections,
            max,
            "the open-file limit allows fewer connections than http_max_connections"
        );
    }
    let app = app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let permits = Arc::new(Semaphore::new(max));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was
                    // taken: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |req: Request<Incoming>| with_peer(req, remote));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("connections still open after 10 s were closed");
    }
    Ok(())
}

/// The request as the router takes it, with the peer's address
/// (`ConnectInfo`, read by the audit and sign-in throttling).
fn with_peer(req: Request<Incoming>, remote: SocketAddr) -> Request<Body> {
    let mut req = req.map(Body::new);
    req.extensions_mut().insert(ConnectInfo(remote));
    req
}
