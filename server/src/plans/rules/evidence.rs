//! The evidence hash a gate decision is bound to: SHA-256 over the phase's
//! configuration, its checklist as ticked, and the plan's safeguards as
//! declared: its backfill jobs (their SQL and targets), its guardrails, its
//! rollback steps and the phases' pilot lists, runbooks and irreversibility. Any change gives
//! a different hash,
//! which dismisses the decisions made on the old one. Automatic checks'
//! results are not part of it (time alone changes them).
use crate::backfill::job::Job;
use crate::plans::file::hex;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::chain::canonical;
use crate::plans::store::PhaseRecord;

/// The plan file's `[[jobs]]`: their names, and a digest of them as they
/// would run (one parse of the file for both).
pub fn declared_jobs(source: &str) -> (Vec<(String, bool)>, String) {
    jobs_of(crate::plans::file::parsed::parsed(source).as_deref())
}

/// The same, from a parsed file. A plan without guardrails, rollback steps,
/// pilot lists or runbooks keeps the digest it had before those were part
/// of it (its jobs alone), so approvals given then still count.
pub fn jobs_of(file: Option<&crate::plans::file::spec::PlanFile>) -> (Vec<(String, bool)>, String) {
    let jobs: Vec<Job> = file
        .map(|f| f.jobs.iter().map(|j| Job::from_spec(j.get_ref())).collect())
        .unwrap_or_default();
    let mut text: Vec<String> = jobs.iter().map(|j| format!("{j:?}")).collect();
    text.extend(file.map(safeguards).unwrap_or_default());
    let digest = hex(&Sha256::digest(text.join("\n").as_bytes()));
    (
        jobs.into_iter().map(|j| (j.name, j.verify_only)).collect(),
        digest,
    )
}

/// The plan's guardrails (as the evaluator reads them), rollback steps and
/// each phase's pilot list, pilot query and runbook, one line each; none
/// when the plan has none of them. Positions in the file are left out, so
/// moving text around changes nothing.
fn safeguards(f: &crate::plans::file::spec::PlanFile) -> Vec<String> {
    use crate::plans::guardrail::GuardrailDef;
    let texts =
        |l: &[toml::Spanned<String>]| l.iter().map(|s| s.get_ref().clone()).collect::<Vec<_>>();
    let mut out: Vec<String> = f
        .guardrails
        .iter()
        .map(|g| format!("guardrail {:?}", GuardrailDef::from_spec(g.get_ref())))
        .collect();
    if let Some(r) = &f.rollback {
        let r = r.get_ref();
        out.push(format!(
            "rollback {:?}",
            [&r.standard, &r.pause, &r.emergency, &r.abort, &r.entity].map(|l| texts(l))
        ));
    }
    for (i, p) in f.phases.iter().enumerate() {
        let p = p.get_ref();
        if let Some(why) = &p.irreversible {
            out.push(format!("phase {i} irreversible {:?}", why.get_ref().trim()));
        }
        if !p.allow.is_empty() || p.allow_query.is_some() || !p.runbook.is_empty() {
            let query = p.allow_query.as_ref().map(|q| {
                let q = q.get_ref();
                (q.target.get_ref().clone(), q.sql.get_ref().clone())
            });
            out.push(format!(
                "phase {i} allow {:?} query {query:?} runbook {:?}",
                texts(&p.allow),
                texts(&p.runbook)
            ));
        }
    }
    out
}

/// A digest of the plan file's `[[jobs]]` as they would run.
pub fn jobs_digest(source: &str) -> String {
    declared_jobs(source).1
}

pub fn evidence_hash(p: &PhaseRecord, jobs: &str) -> String {
    let items: Vec<_> = p
        .items
        .iter()
        .map(|i| {
            let mut item = json!({
                "kind": i.def.kind,
                "text": i.def.text,
                "tickers": i.def.tickers.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                "check": i.def.check_name,
                "max_delta": i.def.max_delta,
                "job": i.def.job,
                "ticked_by": i.ticked_by,
                "ticked_at_ms": i.ticked_at_ms,
                "comment": i.tick_comment,
            });
            // Only entry criteria say so: hashes of phases without any stay
            // as they were before entry criteria existed.
            if i.def.entry {
                item["entry"] = json!(true);
            }
            if let Some(age) = i.def.max_age_ms {
                item["max_age_ms"] = json!(age);
            }
            item
        })
        .collect();
    let doc = json!({
        "name": p.name,
        "environment": p.environment,
        "exposure_bp": p.exposure_bp,
        "notes": p.notes,
        "approvals_required": p.approvals_required,
        "approver_roles": p.approver_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "soak_ms": p.soak_ms,
        "checklist": items,
        "jobs": jobs,
    });
    // Named approvers are part of what is approved (absent when none, so
    // decisions made before names existed keep their hash).
    let mut doc = doc;
    if !p.approvers.is_empty() {
        doc["approvers"] = json!(p.approvers);
    }
    if p.signed {
        doc["signed"] = json!(true);
    }
    hex(&Sha256::digest(canonical(&doc).as_bytes()))
}

/// What a gate decision was made on, for its audit event, so an auditor
/// can reconstruct it from the trail alone: every item of the phase with
/// its result then (ticked by whom, or the automatic check's judgement and
/// why), and every guardrail watching its environment with its definition
/// and its newest reading then. The hash binds the configuration; this
/// records the results the hash leaves out because time alone moves them.
pub fn snapshot(
    phase: &PhaseRecord,
    previous: Option<&PhaseRecord>,
    now_ms: i64,
    facts: &crate::plans::rules::facts::Facts,
) -> serde_json::Value {
    let items: Vec<_> = phase
        .items
        .iter()
        .map(|i| {
            let state = crate::plans::rules::checks::judge(i, phase, previous, now_ms, facts);
            json!({
                "text": i.def.text, "kind": i.def.kind, "entry": i.def.entry,
                "check": i.def.check_name, "met": state.met, "detail": state.detail,
                "ticked_by": i.ticked_by_name, "ticked_at_ms": i.ticked_at_ms,
                "comment": i.tick_comment,
            })
        })
        .collect();
    let g = &facts.guardrails;
    let guardrails: Vec<_> = g
        .declared
        .iter()
        .filter(|d| d.watches(&phase.environment))
        .map(|d| {
            let newest = g
                .latest
                .iter()
                .chain(&g.measurements)
                .filter(|m| m.guardrail == d.name && m.environment == phase.environment)
                .max_by_key(|m| m.at_ms)
                .map(|m| {
                    json!({
                        "at_ms": m.at_ms, "outcome": m.outcome.as_str(), "value": m.value,
                        "threshold": m.threshold, "detail": m.detail,
                    })
                });
            json!({ "name": d.name, "definition": format!("{d:?}"), "newest_reading": newest })
        })
        .collect();
    json!({ "items": items, "guardrails": guardrails })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::store::ItemRecord;
    use app::access::Role;
    use app::dto::plans::PhaseStatus;

    fn phase() -> PhaseRecord {
        PhaseRecord {
            items: vec![ItemRecord {
                id: "i".into(),
                position: 0,
                def: crate::plans::file::definition::ItemDef {
                    entry: false,
                    kind: app::dto::plans::ItemKind::Manual,
                    text: "Rollback plan reviewed".into(),
                    tickers: vec![Role::Operator],
                    check_name: None,
                    max_delta: None,
                    job: None,
                    max_age_ms: None,
                },
                ticked_by: None,
                ticked_by_name: None,
                ticked_at_ms: None,
                tick_comment: None,
            }],
            ..PhaseRecord::fixture()
        }
    }

    #[test]
    fn configuration_and_ticks_change_the_hash_but_status_does_not() {
        let base = phase();
        let h = evidence_hash(&base, "j");
        assert_eq!(h.len(), 64);
        let mut p = base.clone();
        p.status = PhaseStatus::Approved;
        p.requested_at_ms = Some(5);
        assert_eq!(evidence_hash(&p, "j"), h, "run-time state is not evidence");
        let mut p = base.clone();
        p.exposure_bp = 200;
        assert_ne!(evidence_hash(&p, "j"), h);
        let mut p = base.clone();
        p.items[0].ticked_by = Some("u1".into());
        p.items[0].ticked_at_ms = Some(9);
        assert_ne!(evidence_hash(&p, "j"), h);
        let mut p = base.clone();
        p.approver_roles.push(Role::Admin);
        assert_ne!(evidence_hash(&p, "j"), h);
        assert_ne!(
            evidence_hash(&base, "other jobs"),
            h,
            "the jobs' SQL is evidence"
        );
    }
}
