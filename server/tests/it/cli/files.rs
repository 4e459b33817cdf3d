//! Plan files and the audit trail on the command line: `audit verify`
//! names an altered row, `plan validate` says where, templates round-trip.
use super::*;

#[test]
fn audit_verify_names_the_exact_seq_of_an_altered_row() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["ann", "ben", "cai", "dee"] {
        let out = run(d, &["user", "add", name, "--role", "viewer"]);
        assert!(out.status.success());
    }
    let ok = run(d, &["audit", "verify"]);
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
    let broken = run(d, &["audit", "verify"]);
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
    let out = run(d, &["plan", "validate", "plan.toml"]);
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
    let out = run(d, &["plan", "validate", "plan.toml"]);
    assert_success(&out);
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
    let out = run(d, &["plan", "validate", "plan.toml"]);
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
        assert_success(&out);
        assert!(
            stdout_of(&out).contains(&format!("imported plan {name:?}")),
            "{}",
            stdout_of(&out)
        );
        let out = run(d, &["plan", "export", name]);
        assert_success(&out);
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
    let out = run(d, &["plan", "import", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3:8: plan.flag: \"Not A Key\" is not a flag key"),
        "{err}"
    );
    let out = run(d, &["plan", "list"]);
    let list = stdout_of(&out);
    assert_eq!(
        list.lines().count(),
        3,
        "a header and the two templates: {list}"
    );
    assert!(!list.contains("Bad"));
}
