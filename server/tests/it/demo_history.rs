//! `demo history` as `scripts/run` runs it on a new default store: people
//! with passwords printed once, the STI plan part-way through with the
//! evidence of each step, the partitioned plan as a draft, a chain that
//! verifies, history that ends before now; and never on a store in use.
use serde_json::Value;

use super::cli::console;

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = console(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_new_store_gets_a_week_of_the_sti_rollout_made_through_the_ports() {
    let dir = tempfile::tempdir().unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (code, out, err) = run(dir.path(), &["demo", "history", "--rows", "20000"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    // Every demo user once, with a password of the generated kind.
    for (name, role) in [
        ("admin", "admin"),
        ("olga", "operator"),
        ("ann", "approver"),
        ("bob", "approver"),
        ("vera", "viewer"),
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is not printed: {out}"));
        assert!(line.contains(role), "{line}");
        assert!(
            line.split_whitespace().last().unwrap().len() >= 12,
            "{line}"
        );
    }

    let (code, list, _) = run(dir.path(), &["plan", "list"]);
    assert_eq!(code, 0);
    for plan in ["STI subtype backfill", "Partitioned finance tables"] {
        assert!(
            list.lines()
                .any(|l| l.contains(plan) && l.contains(" active ")),
            "{list}"
        );
    }

    let (code, verify, err) = run(dir.path(), &["audit", "verify"]);
    assert_eq!(code, 0, "{verify}{err}");

    let (code, export, _) = run(dir.path(), &["audit", "export", "--format", "jsonl"]);
    assert_eq!(code, 0);
    let events: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions =
        |action: &str| -> Vec<&Value> { events.iter().filter(|e| e["action"] == action).collect() };
    // The story, by the people in it.
    let decisions = actions("gate.approve");
    let approvers: Vec<&str> = decisions
        .iter()
        .map(|e| e["actor_name"].as_str().unwrap())
        .collect();
    // STI's dev (ann), the partitioned plan's dev (ann), then a day later
    // each one's staging (bob).
    assert_eq!(approvers, ["ann", "ann", "bob", "bob"], "{decisions:?}");
    // Both plans' dev and staging; without a Prometheus the pilot waits
    // (its staging guardrails have no healthy reading).
    assert_eq!(actions("phase.start").len(), 4);
    assert!(actions("flag.allow").is_empty());
    let rollback = actions("flag.deny");
    assert_eq!(rollback.len(), 1, "a single-organisation rollback");
    assert!(rollback[0]["details"].to_string().contains("org-4711"));
    assert!(!actions("backfill.start").is_empty());
    // A week ago up to before this test ran: the served console's own
    // events come after all of it.
    let times: Vec<i64> = events
        .iter()
        .map(|e| e["at_ms"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order");
    assert!(*times.last().unwrap() < before, "history ends before now");
    assert!(
        before - times[0] > 96 * 3_600_000,
        "it starts days ago: {}",
        before - times[0]
    );

    // The runs: the first dry-runs found the broken rows, the later ones ran
    // clean; the live runs and their verification are done.
    let (code, status, _) = run(dir.path(), &["backfill", "status", "STI subtype backfill"]);
    assert_eq!(code, 0);
    let runs: Vec<Vec<&str>> = status
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let of = |job: &str, mode: &str| -> Vec<&Vec<&str>> {
        runs.iter()
            .filter(|r| r[1] == job && r[2] == mode)
            .collect()
    };
    for job in ["school", "self_study"] {
        let dry = of(job, "dry_run");
        assert_eq!(
            dry.len(),
            4,
            "dev twice, staging and production once: {status}"
        );
        assert_ne!(
            dry.last().unwrap()[6],
            "0",
            "the oldest found errors: {status}"
        );
        assert_eq!(dry[0][6], "0", "the newest ran clean: {status}");
        for mode in ["run", "verify"] {
            let done = of(job, mode);
            assert_eq!(done.len(), 1, "{job} {mode}: {status}");
            assert_eq!(done[0][3], "done");
        }
    }

    // Never over a store in use.
    let (code, _, err) = run(dir.path(), &["demo", "history"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already holds 2 plan(s)"), "{err}");
}
