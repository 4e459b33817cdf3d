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
    assert_success(&out);
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
    let bad_role = run(d, &["user", "add", "bob", "--role", "root"]);
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
    let out = run(d, &["user", "add", "bob", "--role", "viewer"]);
    assert!(out.status.success());
    assert!(
        stdout_of(&out).contains("password (shown once): "),
        "{}",
        stdout_of(&out)
    );

    let out = run(d, &["user", "disable", "bob"]);
    assert_eq!(
        stdout_of(&out).trim(),
        "disabled bob; their sessions have ended"
    );
    let list = stdout_of(&run(d, &["user", "list"]));
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

    let out = run(
        d,
        &["token", "create", "--name", "ci", "--scope", "audit:read"],
    );
    assert_success(&out);
    assert!(
        stdout_of(&out).contains("secret (shown once): rct_"),
        "{}",
        stdout_of(&out)
    );

    // Every change above is in the trail, made by the command line.
    let export = run(d, &["audit", "export", "--format", "jsonl"]);
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
    assert_success(&out);
    let export = stdout_of(&run(d, &["audit", "export", "--format", "jsonl"]));
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
    assert_success(&out);
    let out = run(d, &["user", "disable", &creator]);
    assert_success(&out);
    let list = stdout_of(&run(d, &["token", "list"]));
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
    let added = run(d, &["user", "add", "ann", "--role", "approver"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let out = create(&["--owner", "ann"]);
    assert_success(&out);
    let list = stdout_of(&run(d, &["token", "list"]));
    assert!(list.contains("pipeline"), "{list}");
    let export = stdout_of(&run(
        d,
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--action",
            "token.create",
        ],
    ));
    assert!(
        export.contains("ann (via cli:"),
        "the token is ann's: {export}"
    );
}
