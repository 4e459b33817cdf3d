//! Starting and stopping: one-line errors with exit codes, `migrate`,
//! `--help`, graceful shutdown on SIGTERM.
use super::*;

/// Start-up errors, one case a row: what is wrong (environment, a
/// `console.toml`), the words the one line must hold, and a secret it must
/// never print. Each is one line on stderr and exit code 2.
#[test]
fn start_up_errors_are_one_line_exit_2_and_print_no_secret() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let in_use = taken.local_addr().unwrap().to_string();
    struct Case<'a> {
        env: &'a [(&'a str, &'a str)],
        console_toml: Option<&'a str>,
        args: &'a [&'a str],
        says: &'a [&'a str],
        secret: Option<&'a str>,
    }
    let cases = [
        Case {
            env: &[("DATABASE_URL", "mysql://root:hunter2@localhost/x")],
            console_toml: None,
            args: &[],
            says: &[
                "database_url",
                "environment variable DATABASE_URL",
                "unsupported scheme \"mysql\"",
                "postgres://",
            ],
            secret: Some("hunter2"),
        },
        // Port 1 on loopback: nothing listens there.
        Case {
            env: &[("DATABASE_URL", "postgres://u:topsecret@127.0.0.1:1/console")],
            console_toml: None,
            args: &[],
            says: &[
                "database_url",
                "DATABASE_URL",
                "cannot open postgres://u:***@127.0.0.1:1/console",
            ],
            secret: Some("topsecret"),
        },
        Case {
            env: &[("CONSOLE_LISTEN", &in_use)],
            console_toml: None,
            args: &[],
            says: &["listen", "CONSOLE_LISTEN", &in_use, "in use"],
            secret: None,
        },
        Case {
            env: &[],
            console_toml: Some("listen = \"127.0.0.1:3000\"\nlog_format = \n"),
            args: &[],
            says: &["console.toml:2:"],
            secret: None,
        },
        // A target that is the store itself, by another path:
        // ./data/console.db vs data/console.db.
        Case {
            env: &[],
            console_toml: Some(
                "listen = \"127.0.0.1:0\"\n[targets.app]\nurl = \"sqlite://./data/../data/console.db\"\n",
            ),
            args: &["serve"],
            says: &["targets.app", "is the console's own store"],
            secret: None,
        },
    ];
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = case.console_toml {
            std::fs::write(dir.path().join("console.toml"), text).unwrap();
        }
        let out = console(dir.path())
            .envs(case.env.iter().copied())
            .args(case.args)
            .output()
            .unwrap();
        assert_one_line_error(&out, 2, case.says);
        if let Some(secret) = case.secret {
            assert!(
                !String::from_utf8_lossy(&out.stderr).contains(secret),
                "the secret is never printed"
            );
        }
    }
}

#[test]
fn migrate_creates_the_default_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = console(dir.path()).arg("migrate").output().unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .contains("store sqlite at data/console.db: migration #21 passkeys (21 of 21 applied)"),
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
    let body = http_get::blocking_get(&format!("http://{addr}/healthz"));
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
