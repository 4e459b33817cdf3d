//! The binary as a user runs it: one-line errors with exit codes, `migrate`,
//! `--help`, and graceful shutdown on SIGTERM.

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
        stdout.contains(
            "store sqlite at data/console.db: migration #14 decision evidence (14 of 14 applied)"
        ),
        "{stdout}"
    );
    assert!(dir.path().join("data/console.db").exists());
}

#[test]
fn a_target_that_is_the_store_itself_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    // The same file by another path: ./data/console.db vs data/console.db.
    std::fs::write(
        dir.path().join("console.toml"),
        "listen = \"127.0.0.1:0\"\n[targets.app]\nurl = \"sqlite://./data/../data/console.db\"\n",
    )
    .unwrap();
    let out = console(dir.path()).arg("serve").output().unwrap();
    assert_one_line_error(&out, 2, &["targets.app", "is the console's own store"]);
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

fn run_with_stdin(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
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

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn user_and_token_commands_manage_identity_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run_with_stdin(
        d,
        &[
            "user",
            "add",
            "Alice",
            "--role",
            "operator",
            "--role",
            "approver",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_of(&out).trim(), "added alice (operator, approver)");

    let short = run_with_stdin(
        d,
        &["user", "add", "bob", "--role", "viewer", "--password-stdin"],
        "short\n",
    );
    assert_one_line_error(
        &short,
        2,
        &["password: 5 characters is too short; use at least 12"],
    );
    let bad_role = console(d)
        .args(["user", "add", "bob", "--role", "root"])
        .output()
        .unwrap();
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_role.stderr)
        .contains("roles are viewer, operator, approver, admin"));
    let taken = run_with_stdin(
        d,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        "another long password\n",
    );
    assert_one_line_error(&taken, 2, &["\"alice\" is taken"]);

    // Generated passwords are printed once.
    let out = console(d)
        .args(["user", "add", "bob", "--role", "viewer"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stdout_of(&out).contains("password (shown once): "),
        "{}",
        stdout_of(&out)
    );

    let out = console(d)
        .args(["user", "disable", "bob"])
        .output()
        .unwrap();
    assert_eq!(
        stdout_of(&out).trim(),
        "disabled bob; their sessions have ended"
    );
    let list = stdout_of(&console(d).args(["user", "list"]).output().unwrap());
    assert!(
        list.lines().any(|l| l.starts_with("alice ")
            && l.contains("operator,approver")
            && l.contains("active")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("bob ") && l.contains("disabled")),
        "{list}"
    );

    let out = console(d)
        .args(["token", "create", "--name", "ci", "--scope", "audit:read"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout_of(&out).contains("secret (shown once): rct_"),
        "{}",
        stdout_of(&out)
    );

    // Every change above is in the trail, made by the command line.
    let export = console(d)
        .args(["audit", "export", "--format", "jsonl"])
        .output()
        .unwrap();
    let events: Vec<serde_json::Value> = stdout_of(&export)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["user.create", "user.create", "user.disable", "token.create"]
    );
    assert!(events.iter().all(|e| e["actor_kind"] == "cli"));
}

/// The CLI's actor is the real account (never "unknown", even with $USER
/// unset), and a token belongs to its creator by id: disabling a web user
/// who happens to share that name revokes nothing of the CLI's.
#[test]
fn cli_tokens_have_a_real_creator_that_no_web_user_can_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = console(d)
        .env_remove("USER")
        .env_remove("LOGNAME")
        .args(["token", "create", "--name", "ci", "--scope", "audit:read"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = stdout_of(
        &console(d)
            .args(["audit", "export", "--format", "jsonl"])
            .output()
            .unwrap(),
    );
    let event: serde_json::Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    let creator = event["actor_name"].as_str().unwrap().to_string();
    assert_eq!(event["actor_kind"], "cli");
    assert!(!creator.is_empty() && creator != "unknown", "{creator:?}");
    // A web user with the very same name, then disabled.
    let out = run_with_stdin(
        d,
        &[
            "user",
            "add",
            &creator,
            "--role",
            "viewer",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = console(d)
        .args(["user", "disable", &creator])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = stdout_of(&console(d).args(["token", "list"]).output().unwrap());
    let line = list.lines().find(|l| l.contains("ci")).unwrap_or_default();
    assert!(
        !line.contains("revoked"),
        "the CLI's token survives: {list}"
    );
}

#[test]
fn audit_verify_names_the_exact_seq_of_an_altered_row() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["ann", "ben", "cai", "dee"] {
        let out = console(d)
            .args(["user", "add", name, "--role", "viewer"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let ok = console(d).args(["audit", "verify"]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        stdout_of(&ok).starts_with("chain intact through #4 (4 events checked"),
        "{}",
        stdout_of(&ok)
    );

    // Behind the console's back: as the database owner, drop the trigger and
    // rewrite who created user "cai" (event #3).
    let db = d.join("data/console.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let refused = sqlx::query("UPDATE audit_events SET actor_name = 'nobody' WHERE seq = 3")
            .execute(&mut conn)
            .await;
        assert!(refused.is_err(), "the trigger refuses it first");
        sqlx::raw_sql("DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor_name = 'nobody' WHERE seq = 3;")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let broken = console(d).args(["audit", "verify"]).output().unwrap();
    assert_one_line_error(
        &broken,
        3,
        &["chain broken at #3: its content no longer matches its hash: the row was altered"],
    );
}

#[test]
fn plan_validate_prints_line_column_and_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("plan.toml");
    std::fs::write(
        &file,
        "[plan]\nname = \"Pilot\"\nflag = \"pilot_flag\"\n\n[[phases]]\nname = \"pilot\"\nenvironment = \"production\"\nexposure_bp = 12000\n",
    )
    .unwrap();
    let out = console(d)
        .args(["plan", "validate", "plan.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plan.toml:8:15: phases[0].exposure_bp: 12000 is outside 0..=10000"),
        "{err}"
    );
    assert!(err.contains("1 problem found; nothing was stored"), "{err}");
    assert!(!d.join("data").exists(), "validation opens no store");

    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("12000", "100"),
    )
    .unwrap();
    let out = console(d)
        .args(["plan", "validate", "plan.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout_of(&out).trim(),
        "plan.toml: plan \"Pilot\" is valid (1 phases, flag pilot_flag)"
    );

    // A job whose apply leaves its transaction and attaches the store.
    let job =
        "\n[[jobs]]\nname = \"j\"\ntarget = \"demo\"\nkey = \"id\"\ntable = \"projects_project\"\n\
               apply = \"COMMIT; ATTACH DATABASE 'data/console.db' AS c\"\n";
    let text = std::fs::read_to_string(&file).unwrap() + job;
    std::fs::write(&file, &text).unwrap();
    let out = console(d)
        .args(["plan", "validate", "plan.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().position(|l| l.starts_with("apply")).unwrap() + 1;
    assert!(
        err.contains(&format!(
            "plan.toml:{line}:9: jobs[0].apply: holds 2 statements"
        )),
        "{err}"
    );
}

#[test]
fn templates_import_and_export_byte_for_byte_and_bad_files_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for (file, name) in [
        ("sti-backfill.toml", "STI subtype backfill"),
        (
            "partitioned-tables.toml",
            "Partitioned tables for 1M organisations",
        ),
    ] {
        let path = templates.join(file);
        let out = console(d)
            .args(["plan", "import"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout_of(&out).contains(&format!("imported plan {name:?}")),
            "{}",
            stdout_of(&out)
        );
        let out = console(d).args(["plan", "export", name]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.stdout,
            std::fs::read(&path).unwrap(),
            "{file} exports exactly as imported"
        );
    }
    // The same file again: its name and flag are taken.
    let out = console(d)
        .args(["plan", "import"])
        .arg(templates.join("sti-backfill.toml"))
        .output()
        .unwrap();
    assert_one_line_error(&out, 2, &["plan.name", "\"STI subtype backfill\" exists"]);
    // A malformed file: line, column and field; nothing stored.
    std::fs::write(
        d.join("bad.toml"),
        "[plan]\nname = \"Bad\"\nflag = \"Not A Key\"\n\n[[phases]]\nname = \"p\"\nenvironment = \"dev\"\nexposure_bp = 1\n",
    )
    .unwrap();
    let out = console(d)
        .args(["plan", "import", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3:8: plan.flag: \"Not A Key\" is not a flag key"),
        "{err}"
    );
    let out = console(d).args(["plan", "list"]).output().unwrap();
    let list = stdout_of(&out);
    assert_eq!(
        list.lines().count(),
        3,
        "a header and the two templates: {list}"
    );
    assert!(!list.contains("Bad"));
}

/// A plans:write token made on the command line names the person it acts
/// for: refused without `--owner`, or with an owner who does not exist;
/// made with one, it is theirs (listed as theirs, its changes theirs).
#[test]
fn a_plans_write_token_from_the_cli_names_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "token",
            "create",
            "--name",
            "pipeline",
            "--scope",
            "plans:write",
        ];
        args.extend_from_slice(extra);
        console(d).args(&args).output().unwrap()
    };
    let out = create(&[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--owner"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = create(&["--owner", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no enabled user"));
    let added = console(d)
        .args(["user", "add", "ann", "--role", "approver"])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let out = create(&["--owner", "ann"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = stdout_of(&console(d).args(["token", "list"]).output().unwrap());
    assert!(list.contains("pipeline"), "{list}");
    let export = stdout_of(
        &console(d)
            .args([
                "audit",
                "export",
                "--format",
                "jsonl",
                "--action",
                "token.create",
            ])
            .output()
            .unwrap(),
    );
    assert!(
        export.contains("ann (via cli:"),
        "the token is ann's: {export}"
    );
}
