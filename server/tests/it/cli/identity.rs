//! `user` and `token` on the command line: audited, with a real creator,
//! and a plans:write token names the person it acts for.
use super::*;

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
