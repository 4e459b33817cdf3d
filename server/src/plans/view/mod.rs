//! From stored records to what the plan pages and the REST API show.
pub mod edits;
pub mod incident;
pub mod oncall;
pub mod timeline;
pub mod waiting;
use app::dto::plans::{
    ChangeDecisionView, ChangeRequestView, DecisionView, EnvExposure, EnvFlagView, FlagView,
    ItemKind, ItemView, PhaseStatus, PhaseView, PlanStatus, PlanSummary, PlanView, Verdict,
};

use crate::plans::file::spec::pilot::Pilot;
use crate::plans::rules::checks::{complete, judge, unmet_described, ItemState};
use crate::plans::rules::evidence::evidence_hash;
use crate::plans::rules::exposure::{environments, previews};
use crate::plans::rules::facts::Facts;
use crate::plans::rules::gate::tally;
use crate::plans::rules::state::{start_blockers, PreviousPhase};
use crate::plans::store::change_requests::ChangeRecord;
use crate::plans::store::{FlagRecord, ItemRecord, Loaded, PhaseRecord, PlanRecord, Progress};

pub fn summary(
    plan: &PlanRecord,
    flag: &FlagRecord,
    progress: &Progress,
    environments: &[String],
) -> PlanSummary {
    PlanSummary {
        id: plan.id.clone(),
        name: plan.name.clone(),
        flag_key: plan.flag_key.clone(),
        status: plan.status,
        current_phase: progress.current.clone(),
        phases_done: progress.done,
        phases_total: progress.total,
        exposures: flag_environments(flag, environments)
            .into_iter()
            .map(|e| EnvExposure {
                exposure_bp: e.effective_bp(),
                allowed: if e.enabled { e.allow.len() } else { 0 },
                off: !e.enabled,
                environment: e.environment,
            })
            .collect(),
        pending_change: None,
        revision: plan.revision,
        updated_at_ms: plan.updated_at_ms,
    }
}

/// A pending change request as the plan page shows it; `in_force` is the
/// plan file it would replace.
pub fn change_view(c: &ChangeRecord, in_force: &str) -> ChangeRequestView {
    ChangeRequestView {
        diff: crate::plans::store::sources::diff(in_force, &c.source_toml),
        id: c.id.clone(),
        author: c.author_name.clone(),
        author_id: c.author_id.clone(),
        created_at_ms: c.created_at_ms,
        weakens: c.weakens.clone(),
        approvals_required: c.approvals_required,
        approver_roles: c.approver_roles.clone(),
        approvals: c.approvals(),
        decisions: c
            .decisions
            .iter()
            .map(|d| ChangeDecisionView {
                user_id: d.user_id.clone(),
                username: d.username.clone(),
                verdict: d.verdict,
                comment: d.comment.clone(),
                created_at_ms: d.created_at_ms,
            })
            .collect(),
    }
}

/// The flag in `environments` (in that order), then in any other it has a
/// state in.
fn flag_environments(flag: &FlagRecord, environments: &[String]) -> Vec<EnvFlagView> {
    let others = flag.states.keys().filter(|e| !environments.contains(e));
    environments
        .iter()
        .chain(others)
        .map(|env| {
            let s = flag.state(env);
            EnvFlagView {
                environment: env.clone(),
                enabled: s.enabled,
                exposure_bp: s.exposure_bp,
                allow: s.allow,
                deny: s.deny,
                updated_at_ms: s.updated_at_ms,
                set_by: s.set_by,
            }
        })
        .collect()
}

/// Why phase `index` cannot start now (empty when it can).
pub fn blockers_for(l: &Loaded, index: usize, now_ms: i64, facts: &Facts) -> Vec<String> {
    let phase = &l.phases[index];
    let previous = index.checked_sub(1).map(|i| &l.phases[i]);
    if let Some(prev) = previous {
        if prev.status == PhaseStatus::Pending {
            return vec![format!("phase {:?} comes first", prev.name)];
        }
    }
    // Starting the first phase is what activates a draft plan.
    let plan_status = if l.plan.status == PlanStatus::Draft && index == 0 {
        PlanStatus::Active
    } else {
        l.plan.status
    };
    let prev_facts = previous.map(|p| PreviousPhase {
        name: p.name.clone(),
        status: p.status,
        started_at_ms: p.started_at_ms.unwrap_or(0),
        soak_ms: p.soak_ms,
        open_items: unmet_described(
            p,
            index.checked_sub(2).map(|i| &l.phases[i]),
            now_ms,
            facts,
            false,
        ),
    });
    let mut blockers = start_blockers(plan_status, phase.status, prev_facts.as_ref(), now_ms);
    if phase.status == PhaseStatus::Pending {
        blockers.extend(unmet_described(phase, previous, now_ms, facts, true));
    }
    blockers
}

fn phase_view(
    l: &Loaded,
    index: usize,
    now_ms: i64,
    facts: &Facts,
    (pilot, runbook, irreversible): (Pilot, Vec<String>, Option<String>),
) -> PhaseView {
    let p: &PhaseRecord = &l.phases[index];
    let previous = index.checked_sub(1).map(|i| &l.phases[i]);
    let (approvals, overridden) = tally(p);
    let approved = Approved::of(p);
    let mut decisions: Vec<DecisionView> = p
        .decisions
        .iter()
        .map(|d| DecisionView {
            id: d.id.clone(),
            username: d.username.clone(),
            verdict: d.verdict,
            comment: d.comment.clone(),
            created_at_ms: d.created_at_ms,
            dismissed_at_ms: d.dismissed_at_ms,
            dismissed_reason: d.dismissed_reason.clone(),
        })
        .collect();
    decisions.sort_by_key(|d| (d.dismissed_at_ms.is_some(), d.created_at_ms));
    PhaseView {
        id: p.id.clone(),
        position: p.position,
        name: p.name.clone(),
        environment: p.environment.clone(),
        exposure_bp: p.exposure_bp,
        notes: p.notes.clone(),
        status: p.status,
        approvals_required: p.approvals_required,
        approver_roles: p.approver_roles.clone(),
        approvers: p.approvers.clone(),
        signed: p.signed,
        soak_ms: p.soak_ms,
        started_at_ms: p.started_at_ms,
        requested_by: p.requested_by_name.clone(),
        requested_at_ms: p.requested_at_ms,
        approved_at_ms: p.approved_at_ms,
        done_at_ms: p.done_at_ms,
        checklist: p
            .items
            .iter()
            .enumerate()
            .map(|(k, i)| {
                let state = shown_state(p, (k, i), previous, (now_ms, facts), approved.as_ref());
                ItemView {
                    id: i.id.clone(),
                    position: i.position,
                    entry: i.def.entry,
                    kind: i.def.kind,
                    text: i.def.text.clone(),
                    tickers: i.def.tickers.clone(),
                    check: i.def.check_name.clone(),
                    max_delta: i.def.max_delta,
                    ticked_by: i.ticked_by_name.clone(),
                    ticked_at_ms: i.ticked_at_ms,
                    tick_comment: i.tick_comment.clone(),
                    met: state.met,
                    evaluable: state.evaluable,
                    detail: state.detail,
                }
            })
            .collect(),
        decisions,
        evidence_hash: evidence_hash(p, &facts.jobs.jobs_digest),
        approvals,
        overridden,
        checklist_complete: complete(p, previous, now_ms, facts),
        start_blockers: if p.status == PhaseStatus::Pending {
            blockers_for(l, index, now_ms, facts)
        } else {
            Vec::new()
        },
        pilot: pilot.allow,
        allow_query_target: pilot.query.map(|(target, _)| target),
        runbook,
        irreversible,
    }
}

/// How an item of `p` is shown: a done phase's as it was judged when its
/// gate passed (the last live approval's evidence); a pending phase's
/// automatic exit items as not judged yet (they judge its own run, which
/// has not begun); any other as judged now.
fn shown_state(
    p: &PhaseRecord,
    (k, item): (usize, &ItemRecord),
    previous: Option<&PhaseRecord>,
    (now_ms, facts): (i64, &Facts),
    approved: Option<&Approved<'_>>,
) -> ItemState {
    let automatic = item.def.kind == ItemKind::Auto;
    if p.status == PhaseStatus::Pending && automatic && !item.def.entry {
        return ItemState {
            met: false,
            evaluable: false,
            detail: "judged once this phase runs".into(),
        };
    }
    if let Some(then) = approved
        .filter(|_| automatic)
        .and_then(|a| a.item(k, &item.def.text))
    {
        return then;
    }
    judge(item, p, previous, now_ms, facts)
}

/// What a done phase's gate passed on: its newest live approval or override
/// and the evidence it stored, read once per phase.
struct Approved<'a> {
    decision: &'a crate::plans::store::DecisionRecord,
    seen: serde_json::Value,
}

impl<'a> Approved<'a> {
    fn of(p: &'a PhaseRecord) -> Option<Approved<'a>> {
        if p.status != PhaseStatus::Done {
            return None;
        }
        let decision = p
            .decisions
            .iter()
            .filter(|d| d.live() && d.verdict != Verdict::Reject)
            .max_by_key(|d| d.created_at_ms)?;
        let seen = serde_json::from_str(decision.evidence_json.as_deref()?).ok()?;
        Some(Approved { decision, seen })
    }

    /// Item `k` (its text `text`) as the decision recorded it, if it did.
    fn item(&self, k: usize, text: &str) -> Option<ItemState> {
        let decision = self.decision;
        let item = self.seen["items"].get(k).filter(|i| i["text"] == text)?;
        let met = item["met"].as_bool()?;
        let detail = item["detail"].as_str().unwrap_or_default();
        let at = app::format::utc_datetime(decision.created_at_ms);
        let how = match (met, detail.is_empty()) {
            (true, true) => "met".to_string(),
            (true, false) => format!("met: {detail}"),
            (false, true) => "not met".to_string(),
            (false, false) => format!("not met: {detail}"),
        };
        Some(ItemState {
            met,
            evaluable: true,
            detail: format!("when {} decided at {at}, {how}", decision.username),
        })
    }
}

/// The list line of a loaded plan.
pub fn summary_of(l: &Loaded, configured: &[String]) -> PlanSummary {
    summary(
        &l.plan,
        &l.flag,
        &Progress::of(&l.phases),
        &environments(l, configured),
    )
}

/// `facts` carries the backfill runs and the jobs' digest (see
/// `PlanService::facts`).
pub fn plan_view(l: &Loaded, now_ms: i64, facts: &Facts, configured: &[String]) -> PlanView {
    // The plan file once, for what the stored rows do not hold.
    let file = crate::plans::file::parsed::parsed(&l.plan.source_toml);
    let mut pilots = file
        .as_deref()
        .map(crate::plans::file::spec::pilot::of_file)
        .unwrap_or_default();
    let mut runbooks = file
        .as_deref()
        .map(crate::plans::file::spec::runbook::of_file)
        .unwrap_or_default();
    let marked = file
        .as_deref()
        .map(crate::plans::file::spec::irreversible::of_file)
        .unwrap_or_default();
    let unsafe_of = |kind, changes: &[crate::plans::rules::exposure::Change]| {
        crate::plans::rules::irreversible::rollback_unsafe(l, &marked, kind, changes)
    };
    PlanView {
        summary: summary_of(l, configured),
        description: l.plan.description.clone(),
        created_by: l.plan.created_by.clone(),
        created_at_ms: l.plan.created_at_ms,
        flag: FlagView {
            key: l.flag.key.clone(),
            serves: (l.flag.values != crate::flags::values::FlagValues::default())
                .then(|| l.flag.values.describe()),
            environments: flag_environments(&l.flag, &environments(l, configured)),
        },
        rollbacks: previews(l, configured, &runbooks.rollbacks, &unsafe_of),
        change_request: None,
        phases: (0..l.phases.len())
            .map(|i| {
                let name = &l.phases[i].name;
                let pilot = pilots.remove(name).unwrap_or_default();
                let runbook = runbooks.phases.remove(name).unwrap_or_default();
                let why = marked
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, w)| w.clone());
                phase_view(l, i, now_ms, facts, (pilot, runbook, why))
            })
            .collect(),
        guardrails: guardrail_views(&facts.guardrails),
        jobs: facts
            .jobs
            .declared
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        now_ms,
        edits_since_approval: Vec::new(),
        incident: None,
        oncall: None,
    }
}

/// Each declared guardrail with its newest reading per environment.
fn guardrail_views(
    g: &crate::plans::rules::facts::GuardrailFacts,
) -> Vec<app::dto::plans::GuardrailView> {
    use crate::plans::guardrail::Source;
    let mut newest: std::collections::HashMap<&str, Vec<app::dto::plans::ReadingView>> =
        std::collections::HashMap::new();
    for m in &g.latest {
        let list = newest.entry(m.guardrail.as_str()).or_default();
        if list.iter().all(|r| r.environment != m.environment) {
            list.push(app::dto::plans::ReadingView {
                environment: m.environment.clone(),
                at_ms: m.at_ms,
                outcome: m.outcome.as_str().to_string(),
                value: m.value.map(app::format::number),
                detail: m.detail.clone(),
                source: m
                    .read_from
                    .as_ref()
                    .map(|r| r.0.clone())
                    .unwrap_or_default(),
                query: m
                    .read_from
                    .as_ref()
                    .map(|r| r.1.clone())
                    .unwrap_or_default(),
            });
        }
    }
    g.declared
        .iter()
        .map(|d| {
            let readings = newest.remove(d.name.as_str()).unwrap_or_default();
            app::dto::plans::GuardrailView {
                name: d.name.clone(),
                environments: d.environments.clone(),
                source: match &d.source {
                    Source::Prometheus { server, .. } => format!("prometheus {server}"),
                    Source::Sql { target, .. } => format!("target {target}"),
                    Source::Health { target, signal } => format!("target {target}: {signal}"),
                },
                threshold: d.threshold(None),
                action: d.action.clone(),
                dry_run: d.dry_run,
                readings,
            }
        })
        .collect()
}
