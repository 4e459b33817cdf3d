//! What each rollback does to the flag's state in each environment, decided
//! here once for the command and for the preview the page shows before the
//! typed confirmation. No rollback raises any environment's exposure: a
//! change that would is refused (`never_raises`).
use app::dto::plans::{ExposureChange, RollbackKind, RollbackPreview};

use crate::flags::store::EnvState;
use crate::plans::store::Loaded;

/// One environment's flag state before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub environment: String,
    pub before: EnvState,
    pub after: EnvState,
}

/// Every environment to show, in order: the configured ones, then any other
/// a phase names or the flag has a state in.
pub fn environments(l: &Loaded, configured: &[String]) -> Vec<String> {
    let mut out: Vec<String> = configured.to_vec();
    let others = l
        .phases
        .iter()
        .map(|p| &p.environment)
        .chain(l.flag.states.keys());
    for e in others {
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out
}

/// The exposure a standard rollback of the running phase returns its
/// environment to: the previous phase's in the same environment, or 0 %
/// (and an empty allow list).
fn before_phase_bp(l: &Loaded, position: i64, environment: &str) -> i64 {
    l.phases
        .iter()
        .rfind(|p| p.position < position && p.environment == environment)
        .map_or(0, |p| p.exposure_bp)
}

/// The changes `kind` makes (for `Entity`, to `entity`), or why it cannot
/// be used now. Emergency and abort turn the flag off in every environment.
pub fn rollback_changes(
    l: &Loaded,
    kind: RollbackKind,
    entity: &str,
    configured: &[String],
) -> Result<Vec<Change>, String> {
    let change = |environment: &str, edit: &dyn Fn(&mut EnvState)| {
        let before = l.flag.state(environment);
        let mut after = before.clone();
        edit(&mut after);
        Change {
            environment: environment.to_string(),
            before,
            after,
        }
    };
    let changes = match kind {
        RollbackKind::Standard | RollbackKind::Pause => {
            let current = l
                .current()
                .ok_or("no phase is running; nothing to roll back")?;
            let env = current.environment.as_str();
            if kind == RollbackKind::Standard {
                let to = before_phase_bp(l, current.position, env);
                // The first phase in its environment rolls back to nothing:
                // its pilot (the allow list) goes too.
                let first = !l
                    .phases
                    .iter()
                    .any(|p| p.position < current.position && p.environment == env);
                vec![change(env, &|s| {
                    s.exposure_bp = s.exposure_bp.min(to);
                    if first {
                        s.allow.clear();
                    }
                })]
            } else {
                if !l.flag.state(env).enabled {
                    return Err(format!("{env} is already paused at 0 %"));
                }
                vec![change(env, &|s| s.enabled = false)]
            }
        }
        RollbackKind::Emergency | RollbackKind::Abort => environments(l, configured)
            .iter()
            .map(|e| change(e, &|s| s.enabled = false))
            .collect(),
        RollbackKind::Entity => {
            let envs = environments(l, configured);
            if envs
                .iter()
                .all(|e| l.flag.state(e).deny.iter().any(|d| d == entity))
            {
                return Err(format!("{entity:?} is already on the deny list"));
            }
            envs.iter()
                .map(|e| {
                    change(e, &|s| {
                        if !s.deny.iter().any(|d| d == entity) {
                            s.deny.push(entity.to_string());
                            s.deny.sort();
                        }
                    })
                })
                .collect()
        }
    };
    never_raises(&changes)?;
    Ok(changes)
}

/// Refuses a set of changes that would raise any environment's exposure:
/// a higher effective percentage, a kill switch turned on, someone added to
/// the allow list or taken off the deny list.
pub fn never_raises(changes: &[Change]) -> Result<(), String> {
    for c in changes {
        let (b, a) = (&c.before, &c.after);
        let raised = a.effective_bp() > b.effective_bp()
            || (a.enabled && !b.enabled)
            || a.allow.iter().any(|x| !b.allow.contains(x))
            || b.deny.iter().any(|x| !a.deny.contains(x));
        if raised {
            return Err(format!(
                "refused: this would raise the exposure in {} ({} → {} basis points)",
                c.environment,
                b.effective_bp(),
                a.effective_bp()
            ));
        }
    }
    Ok(())
}

/// What every rollback button would do now (the entity one for "an
/// organisation", whose exposure in percent does not change), and which are
/// unsafe after an irreversible phase (`unsafe_of`, given the kind and its
/// changes: see `plans::irreversible`). A completed plan keeps its kill switch (the
/// emergency rollback) and single-organisation rollbacks.
pub fn previews(
    l: &Loaded,
    configured: &[String],
    runbooks: &std::collections::HashMap<RollbackKind, Vec<String>>,
    unsafe_of: &dyn Fn(RollbackKind, &[Change]) -> Option<String>,
) -> Vec<RollbackPreview> {
    use app::dto::plans::PlanStatus;
    [
        RollbackKind::Standard,
        RollbackKind::Pause,
        RollbackKind::Emergency,
        RollbackKind::Abort,
        RollbackKind::Entity,
    ]
    .into_iter()
    .map(|kind| {
        let runbook = runbooks.get(&kind).cloned().unwrap_or_default();
        let open = !l.plan.status.is_final()
            || kind == RollbackKind::Entity
            || (kind == RollbackKind::Emergency && l.plan.status == PlanStatus::Completed);
        let outcome = if open {
            // Any organisation stands for the one an operator will name.
            rollback_changes(l, kind, "an organisation", configured)
        } else {
            Err(format!("the plan is {}", l.plan.status))
        };
        match outcome {
            Ok(changes) => RollbackPreview {
                kind,
                unavailable: None,
                unsafe_because: unsafe_of(kind, &changes),
                changes: shown(l, configured, &changes),
                runbook,
            },
            Err(why) => RollbackPreview {
                kind,
                unavailable: Some(why),
                unsafe_because: None,
                changes: Vec::new(),
                runbook,
            },
        }
    })
    .collect()
}

/// Every environment before → after `changes` (those it leaves alone as
/// they are), so nobody has to infer what a rollback does not touch. An
/// enabled environment's allow list counts as exposure (a pilot at 0 %).
fn shown(l: &Loaded, configured: &[String], changes: &[Change]) -> Vec<ExposureChange> {
    let allowed = |s: &EnvState| match s.enabled {
        true => s.allow.iter().filter(|a| !s.deny.contains(a)).count() as i64,
        false => 0,
    };
    environments(l, configured)
        .into_iter()
        .map(|environment| {
            let before = l.flag.state(&environment);
            let after = changes
                .iter()
                .find(|c| c.environment == environment)
                .map_or_else(|| before.clone(), |c| c.after.clone());
            ExposureChange {
                before_bp: before.effective_bp(),
                after_bp: after.effective_bp(),
                allowed_before: allowed(&before),
                allowed_after: allowed(&after),
                environment,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::store::FlagRecord;
    use crate::plans::store::{PhaseRecord, PlanRecord};
    use app::dto::plans::{PhaseStatus, PlanStatus};

    fn configured() -> Vec<String> {
        crate::config::DEFAULT_ENVIRONMENTS
            .map(String::from)
            .to_vec()
    }

    /// The plan of `toml` with phases 0..=running started in order (each
    /// start sets its own environment to its exposure, as `start_phase`
    /// does) and `running` the current one.
    fn running(toml: &str, running: usize) -> Loaded {
        let def = crate::plans::file::definition::parse(toml).unwrap();
        let mut flag = FlagRecord {
            values: Default::default(),
            key: def.flag_key.clone(),
            salt: "s".into(),
            states: Default::default(),
        };
        let phases = def
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i <= running {
                    let state = flag.states.entry(p.environment.clone()).or_default();
                    state.enabled = true;
                    state.exposure_bp = p.exposure_bp;
                    // Every environment had a pilot: rollbacks must not
                    // hide what they do to it.
                    state.allow = vec![format!("pilot-{}", p.environment)];
                }
                PhaseRecord {
                    position: i as i64,
                    name: p.name.clone(),
                    environment: p.environment.clone(),
                    exposure_bp: p.exposure_bp,
                    status: match i.cmp(&running) {
                        std::cmp::Ordering::Less => PhaseStatus::Done,
                        std::cmp::Ordering::Equal => PhaseStatus::Active,
                        std::cmp::Ordering::Greater => PhaseStatus::Pending,
                    },
                    ..PhaseRecord::fixture()
                }
            })
            .collect();
        Loaded {
            plan: PlanRecord {
                id: "plan".into(),
                name: def.name.clone(),
                description: String::new(),
                flag_key: def.flag_key.clone(),
                status: PlanStatus::Active,
                source_toml: toml.into(),
                revision: 1,
                created_by: "t".into(),
                created_at_ms: 0,
                updated_at_ms: 0,
            },
            phases,
            flag,
        }
    }

    #[test]
    fn no_rollback_of_any_phase_of_either_template_raises_any_exposure() {
        let kinds = [
            RollbackKind::Standard,
            RollbackKind::Pause,
            RollbackKind::Emergency,
            RollbackKind::Abort,
            RollbackKind::Entity,
        ];
        let mut checked = 0;
        for template in crate::plans::file::templates::TEMPLATES {
            let phases = crate::plans::file::definition::parse(template.toml)
                .unwrap()
                .phases
                .len();
            for i in 0..phases {
                let l = running(template.toml, i);
                for kind in kinds {
                    let changes = rollback_changes(&l, kind, "org-7", &configured())
                        .unwrap_or_else(|e| panic!("{} phase {i} {kind:?}: {e}", template.toml));
                    let current = &l.phases[i];
                    let first_in_env = !l.phases[..i]
                        .iter()
                        .any(|p| p.environment == current.environment);
                    // Every environment, changed or not, is at most where it
                    // was, and exactly where this kind of rollback puts it.
                    for env in environments(&l, &configured()) {
                        let before = l.flag.state(&env);
                        let after = changes
                            .iter()
                            .find(|c| c.environment == env)
                            .map_or(before.clone(), |c| c.after.clone());
                        let what = format!(
                            "phase {i} ({}) {kind:?} in {env}: {before:?} → {after:?}",
                            current.name
                        );
                        assert!(
                            after.effective_bp() <= before.effective_bp()
                                && (!after.enabled || before.enabled)
                                && after.allow.iter().all(|a| before.allow.contains(a))
                                && before.deny.iter().all(|d| after.deny.contains(d)),
                            "raises: {what}"
                        );
                        let mut expected = before.clone();
                        match kind {
                            _ if env != current.environment
                                && matches!(kind, RollbackKind::Standard | RollbackKind::Pause) => {
                            }
                            RollbackKind::Standard => {
                                let previous = l.phases[..i]
                                    .iter()
                                    .rfind(|p| p.environment == env)
                                    .map_or(0, |p| p.exposure_bp);
                                expected.exposure_bp = before.exposure_bp.min(previous);
                                if first_in_env {
                                    expected.allow.clear();
                                }
                            }
                            RollbackKind::Pause | RollbackKind::Emergency | RollbackKind::Abort => {
                                expected.enabled = false
                            }
                            RollbackKind::Entity => {
                                expected.deny.push("org-7".into());
                                expected.deny.sort();
                            }
                        }
                        assert_eq!(after, expected, "not what {kind:?} does: {what}");
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(
            checked,
            (7 + 9) * 5,
            "every phase of both templates, every kind"
        );
    }

    #[test]
    fn standard_rollback_of_production_5_returns_production_to_0_and_leaves_the_rest() {
        let sti = crate::plans::file::templates::TEMPLATES[0].toml;
        let l = running(sti, 2);
        assert_eq!(l.phases[2].name, "production 5%");
        let changes = rollback_changes(&l, RollbackKind::Standard, "", &configured()).unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].environment, "production");
        assert_eq!(changes[0].before.effective_bp(), 500);
        assert_eq!(changes[0].after.effective_bp(), 0);
        // Production 100 % rolls back to production's own 5 %, not staging's 100 %.
        let l = running(sti, 3);
        let changes = rollback_changes(&l, RollbackKind::Standard, "", &configured()).unwrap();
        assert_eq!(changes[0].after.effective_bp(), 500);
    }

    #[test]
    fn a_change_that_raises_is_refused() {
        let before = EnvState {
            enabled: true,
            exposure_bp: 500,
            ..EnvState::default()
        };
        let raise = |edit: &dyn Fn(&mut EnvState)| {
            let mut after = before.clone();
            edit(&mut after);
            never_raises(&[Change {
                environment: "production".into(),
                before: before.clone(),
                after,
            }])
        };
        assert!(raise(&|s| s.exposure_bp = 10_000).is_err());
        assert!(raise(&|s| s.allow.push("org-1".into())).is_err());
        assert!(raise(&|s| s.exposure_bp = 0).is_ok());
        assert!(raise(&|s| s.enabled = false).is_ok());
    }
}
