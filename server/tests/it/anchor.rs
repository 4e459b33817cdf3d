//! The audit anchor is required once it has existed: deleting it fails
//! `audit verify` (exit 3, saying how to accept it knowingly) however often
//! it is asked, until `audit verify --reanchor --reason …` records who
//! accepted the chain and why. On PostgreSQL the anchor is found by the
//! database's own identity, so the answer is the same from any directory
//! and for `localhost` and `127.0.0.1`.
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::cli::console;
use crate::common::{Backend, TestDb};

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The anchor files under `dir`.
fn anchors(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "anchor") {
                found.push(p);
            }
        }
    }
    found
}

/// Deletes the anchor, checks that verify fails twice (nothing writes it
/// anew behind the auditor's back), then accepts the chain knowingly.
fn delete_then_reanchor(run: &dyn Fn(&[&str]) -> Output, anchor_home: &Path) {
    let found = anchors(anchor_home);
    assert_eq!(found.len(), 1, "one anchor: {found:?}");
    std::fs::remove_file(&found[0]).unwrap();
    for _ in 0..2 {
        let verify = run(&["audit", "verify"]);
        assert_eq!(verify.status.code(), Some(3), "{}", out(&verify));
        let text = out(&verify);
        assert!(
            text.contains("anchor") && text.contains("missing"),
            "{text}"
        );
        assert!(
            text.contains("--reanchor --reason"),
            "says how to accept it: {text}"
        );
    }
    assert!(anchors(anchor_home).is_empty(), "no command wrote it anew");
    let no_reason = run(&["audit", "verify", "--reanchor"]);
    assert_ne!(no_reason.status.code(), Some(0), "{}", out(&no_reason));
    let accepted = run(&[
        "audit",
        "verify",
        "--reanchor",
        "--reason",
        "restored from the nightly backup",
    ]);
    assert_eq!(accepted.status.code(), Some(0), "{}", out(&accepted));
    assert!(
        out(&accepted).contains("audit.reanchor recorded"),
        "{}",
        out(&accepted)
    );
    let verify = run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", out(&verify));
    let export = run(&[
        "audit",
        "export",
        "--format",
        "jsonl",
        "--action",
        "audit.reanchor",
    ]);
    let text = out(&export);
    assert!(
        text.contains("restored from the nightly backup") && text.contains("\"cli\""),
        "who and why are on record: {text}"
    );
}

#[test]
fn a_deleted_sqlite_anchor_fails_verify_until_accepted_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| console(d).args(args).output().unwrap();
    for name in ["ann", "ben"] {
        let added = run(&["user", "add", name, "--role", "viewer"]);
        assert!(added.status.success(), "{}", out(&added));
    }
    let verify = run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", out(&verify));
    delete_then_reanchor(&run, &d.join("data"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_anchor_is_the_same_from_any_directory_and_host_spelling() {
    let db = TestDb::new(Backend::Postgres).await;
    let url = db.database_url();
    assert!(url.contains("127.0.0.1"), "{url}");
    let localhost = url.replace("127.0.0.1", "localhost");
    let home = tempfile::tempdir().unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run_in = |dir: &Path, url: &str, args: &[&str]| {
        console(dir)
            .env("DATABASE_URL", url)
            .env("XDG_DATA_HOME", home.path())
            .args(args)
            .output()
            .unwrap()
    };
    let added = run_in(a.path(), &url, &["user", "add", "ann", "--role", "viewer"]);
    assert!(added.status.success(), "{}", out(&added));
    for (dir, url) in [(a.path(), &url), (b.path(), &localhost)] {
        let verify = run_in(dir, url, &["audit", "verify"]);
        assert_eq!(verify.status.code(), Some(0), "{}", out(&verify));
    }
    assert!(
        anchors(a.path()).is_empty() && anchors(b.path()).is_empty(),
        "nothing under the working directories"
    );
    // Deleted: the same failure from the other directory and spelling.
    let run_b = |args: &[&str]| run_in(b.path(), &localhost, args);
    delete_then_reanchor(&run_b, home.path());
    let verify = run_in(a.path(), &url, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", out(&verify));
    drop(db);
}
