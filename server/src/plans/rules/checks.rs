//! Automatic checklist items: what the server can judge itself, and the
//! checks whose source comes with later features (unmet until then).
use crate::backfill::facts::Scope;
use crate::plans::rules::facts::Facts;
use crate::plans::store::{ItemRecord, PhaseRecord};
use app::dto::plans::{ItemKind, PhaseStatus};

/// How an item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    pub met: bool,
    pub evaluable: bool,
    pub detail: String,
}

/// Judges one item of `phase`; `previous` is the phase before it.
pub fn judge(
    item: &ItemRecord,
    phase: &PhaseRecord,
    previous: Option<&PhaseRecord>,
    now_ms: i64,
    facts: &Facts,
) -> ItemState {
    if item.def.kind == ItemKind::Manual {
        return ItemState {
            met: item.ticked_at_ms.is_some(),
            evaluable: true,
            detail: String::new(),
        };
    }
    let check = item.def.check_name.as_deref().unwrap_or("");
    match check {
        "soak_elapsed" => match phase.started_at_ms {
            None => ItemState {
                met: false,
                evaluable: true,
                detail: "the phase has not started".into(),
            },
            Some(started) => {
                let ends = started + phase.soak_ms;
                ItemState {
                    met: now_ms >= ends,
                    evaluable: true,
                    detail: if now_ms >= ends {
                        "soak elapsed".into()
                    } else {
                        format!("soak ends at {}", app::format::utc_datetime(ends))
                    },
                }
            }
        },
        "previous_phase_approved" => {
            let met = previous
                .is_none_or(|p| matches!(p.status, PhaseStatus::Approved | PhaseStatus::Done));
            ItemState {
                met,
                evaluable: true,
                detail: match previous {
                    None => "first phase".into(),
                    Some(p) => format!("phase {:?} is {}", p.name, p.status),
                },
            }
        }
        other if other.starts_with("guardrail_") => {
            let name = &other["guardrail_".len()..];
            let scope = (phase.environment.as_str(), phase.started_at_ms);
            judged(facts.guardrails.judge(name, scope, now_ms), || {
                format!(
                    "the plan declares no guardrail {name:?} ([[guardrails]] name = {name:?}); counts as unmet"
                )
            })
        }
        other => {
            // An entry criterion held (or not) when its phase started: once
            // started, its evidence's age is counted from the start, so a
            // phase under way does not show its own door as shut.
            let at = match phase.started_at_ms {
                Some(started) if item.def.entry => started,
                _ => now_ms,
            };
            let scope = Scope {
                environment: &phase.environment,
                since_ms: item.def.max_age_ms.map(|age| at - age),
            };
            let verdict =
                facts
                    .jobs
                    .judge(other, item.def.job.as_deref(), item.def.max_delta, scope);
            judged(verdict, || {
                format!("not evaluable: {other} is not a known check; counts as unmet")
            })
        }
    }
}

/// A judge's verdict (met, why) as an item's state; no verdict (the check
/// names nothing the plan has) is unmet, and `unknown` says why.
fn judged(verdict: Option<(bool, String)>, unknown: impl FnOnce() -> String) -> ItemState {
    match verdict {
        Some((met, detail)) => ItemState {
            met,
            evaluable: true,
            detail,
        },
        None => ItemState {
            met: false,
            evaluable: false,
            detail: unknown(),
        },
    }
}

/// Every item met.
pub fn complete(
    phase: &PhaseRecord,
    previous: Option<&PhaseRecord>,
    now_ms: i64,
    facts: &Facts,
) -> bool {
    phase
        .items
        .iter()
        .filter(|i| !i.def.entry)
        .all(|i| judge(i, phase, previous, now_ms, facts).met)
}

/// The phase's checklist items (`entry` false: what a start blocker of the
/// next phase lists) or its entry criteria (`entry` true) that are not met
/// now, each named with why.
pub fn unmet_described(
    phase: &PhaseRecord,
    previous: Option<&PhaseRecord>,
    now_ms: i64,
    facts: &Facts,
    entry: bool,
) -> Vec<String> {
    unmet(phase, previous, now_ms, facts, entry)
        .map(|(text, why)| match (entry, why) {
            (false, None) => format!("{text:?} is not ticked"),
            (false, Some(why)) => format!("{text:?}: {why}"),
            (true, None) => format!("entry criterion {text:?} is not ticked"),
            (true, Some(why)) => format!("entry criterion {text:?} does not hold: {why}"),
        })
        .collect()
}

/// The entry criteria (`entry`) or checklist items not met now: each text,
/// with the automatic check's judgement (`None` for a manual item).
fn unmet<'a>(
    phase: &'a PhaseRecord,
    previous: Option<&'a PhaseRecord>,
    now_ms: i64,
    facts: &'a Facts,
    entry: bool,
) -> impl Iterator<Item = (&'a str, Option<String>)> + 'a {
    phase
        .items
        .iter()
        .filter(move |i| i.def.entry == entry)
        .filter_map(move |i| {
            let state = judge(i, phase, previous, now_ms, facts);
            let why = (i.def.kind != app::dto::plans::ItemKind::Manual).then_some(state.detail);
            (!state.met).then_some((i.def.text.as_str(), why))
        })
}
