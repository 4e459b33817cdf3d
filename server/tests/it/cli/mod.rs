//! The binary as a user runs it: one-line errors with exit codes, `migrate`,
//! `--help` and graceful shutdown on SIGTERM (`start`); users and tokens
//! (`identity`); plan files and the audit trail on the command line
//! (`files`). Here: the helpers they share.
mod files;
mod identity;
mod start;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rollout-console");

/// The binary with a clean environment of console settings, in a temp dir.
pub(crate) fn console(dir: &std::path::Path) -> Command {
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

pub(super) fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

pub(super) fn assert_one_line_error(out: &Output, code: i32, must_contain: &[&str]) {
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

/// A tiny blocking GET without pulling in reqwest's blocking feature.
mod http_get {
    pub fn blocking_get(url: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}

pub(super) fn run_with_stdin(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = console(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Runs the console's command line in `dir` with `args`.
pub(super) fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    console(dir).args(args).output().unwrap()
}

/// Fails, showing its standard error, unless the command succeeded.
pub(super) fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(super) fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
