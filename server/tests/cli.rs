//! The binary as a user runs it: one-line errors with exit codes, `migrate`,
//! `--help`, and graceful shutdown on SIGTERM.
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rollout-console");

/// The binary with a clean environment of console settings, in a temp dir.
fn console(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("CONSOLE_CONFIG")
        .env_remove("CONSOLE_LISTEN")
        .env_remove("CONSOLE_DATABASE_URL")
        .env_remove("LEPTOS_SITE_ADDR")
        .env_remove("RUST_LOG")
        .env("CONSOLE_LOG_LEVEL", "warn");
    cmd
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn assert_one_line_error(out: &Output, code: i32, must_contain: &[&str]) {
    let lines = stderr_lines(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {lines:?}");
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got {lines:?}");
    let line = &lines[0];
    assert!(line.starts_with("error: "), "{line}");
    for needle in must_contain {
        assert!(line.contains(needle), "{line:?} should contain {needle:?}");
    }
    assert!(
        !line.contains("panicked") && !line.contains("RUST_BACKTRACE"),
        "{line}"
    );
}

#[test]
fn bad_database_url_scheme_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = console(dir.path())
        .env("DATABASE_URL", "mysql://root:hunter2@localhost/x")
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        2,
        &[
            "database_url",
            "environment variable DATABASE_URL",
            "unsupported scheme \"mysql\"",
            "postgres://",
        ],
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("hunter2"),
        "the password is never printed"
    );
}

#[test]
fn unreachable_postgres_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let out = console(dir.path())
        .env("DATABASE_URL", "postgres://u:topsecret@127.0.0.1:1/console")
        .output()
        .unwrap();
    assert_one_line_error(
        &out,
        2,
        &[
            "database_url",
            "DATABASE_URL",
            "cannot open postgres://u:***@127.0.0.1:1/console",
        ],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("topsecret"));
}

#[test]
fn port_in_use_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = console(dir.path())
        .env("CONSOLE_LISTEN", &addr)
        .output()
        .unwrap();
    assert_one_line_error(&out, 2, &["listen", "CONSOLE_LISTEN", &addr, "in use"]);
}

#[test]
fn malformed_config_file_is_one_line_with_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("console.toml"),
        "listen = \"127.0.0.1:3000\"\nlog_format = \n",
    )
    .unwrap();
    let out = console(dir.path()).output().unwrap();
    assert_one_line_error(&out, 2, &["console.toml:2:"]);
}

#[test]
fn migrate_creates_the_default_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = console(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("store sqlite at data/console.db: migration #3 audit (3 of 3 applied)"),
        "{stdout}"
    );
    assert!(dir.path().join("data/console.db").exists());
}

#[test]
fn help_explains_the_commands() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "serve",
        "migrate",
        "DATABASE_URL",
        "console.toml",
        "Exit codes",
    ] {
        assert!(
            text.contains(needle),
            "--help should mention {needle}:\n{text}"
        );
    }
    let out = Command::new(BIN).arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn serves_then_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = console(dir.path())
        .env("CONSOLE_LISTEN", "127.0.0.1:0")
        .env("CONSOLE_LOG_LEVEL", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && Instant::now() < deadline {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(pos) = line.find("listening on http://") {
            let rest = &line[pos + "listening on http://".len()..];
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    let addr = addr.expect("the server logs the address it listens on");
    let body = reqwest::blocking_get(&format!("http://{addr}/healthz"));
    assert!(body.contains("ok"), "{body}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    assert_eq!(code.code(), Some(0), "SIGTERM leads to a clean exit");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.contains("shutdown signal received"), "{rest}");
    assert!(rest.contains("stopped cleanly"), "{rest}");
}

/// A tiny blocking GET without pulling in reqwest's blocking feature.
mod reqwest {
    pub fn blocking_get(url: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}
