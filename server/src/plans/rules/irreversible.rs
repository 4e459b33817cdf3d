//! Irreversible phases, as rules: once a phase the plan file marks
//! irreversible (`spec::irreversible`) has started, any rollback that lowers
//! the flag in its environment is unsafe: the page says which and why, a
//! person must accept it explicitly, and a guardrail does not take it on
//! its own.
use crate::plans::rules::exposure::Change;
use crate::plans::store::Loaded;

/// The irreversible phases of `l` that have started (`marked` from its
/// file), with their environment: "phase {name:?} ({environment}) is
/// irreversible: {why}".
fn started(l: &Loaded, marked: &[(String, String)]) -> Vec<(String, String)> {
    l.phases
        .iter()
        .filter(|p| p.started_at_ms.is_some() || p.done_at_ms.is_some())
        .filter_map(|p| {
            let (_, why) = marked.iter().find(|(name, _)| *name == p.name)?;
            Some((
                p.environment.clone(),
                format!("phase {:?} is irreversible: {why}", p.name),
            ))
        })
        .collect()
}

/// Why a `kind` rollback making `changes` on `l` is unsafe, if it is: it
/// turns the flag down where an irreversible phase (of `marked`) has
/// started, or it is the standard rollback of such a phase, which would
/// send it back to pending as if its work had not been done.
pub fn rollback_unsafe(
    l: &Loaded,
    marked: &[(String, String)],
    kind: app::dto::plans::RollbackKind,
    changes: &[Change],
) -> Option<String> {
    let own = (kind == app::dto::plans::RollbackKind::Standard)
        .then(|| l.current())
        .flatten()
        .and_then(|p| marked.iter().find(|(name, _)| *name == p.name))
        .map(|(name, why)| {
            format!(
                "rolling phase {name:?} back does not undo it, it only forgets that it ran: {why}"
            )
        });
    own.or_else(|| unsafe_because(&started(l, marked), changes))
}

/// Why `changes` are unsafe: they lower the flag in an environment where an
/// irreversible phase has started (`started`); `None` when they are safe.
pub fn unsafe_because(started: &[(String, String)], changes: &[Change]) -> Option<String> {
    let lowered = |c: &Change| {
        let (b, a) = (&c.before, &c.after);
        (b.enabled && !a.enabled)
            || a.effective_bp() < b.effective_bp()
            || b.allow.iter().any(|x| !a.allow.contains(x))
            || a.deny.iter().any(|x| !b.deny.contains(x))
    };
    let reasons: Vec<String> = changes
        .iter()
        .filter(|c| lowered(c))
        .flat_map(|c| {
            started
                .iter()
                .filter(|(env, _)| *env == c.environment)
                .map(|(env, why)| format!("it turns the flag down in {env}, where {why}"))
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::store::EnvState;

    fn change(env: &str, before: (bool, i64), after: (bool, i64)) -> Change {
        let state = |(enabled, bp): (bool, i64)| EnvState {
            enabled,
            exposure_bp: bp,
            ..EnvState::default()
        };
        Change {
            environment: env.into(),
            before: state(before),
            after: state(after),
        }
    }

    #[test]
    fn only_lowering_an_environment_with_a_started_irreversible_phase_is_unsafe() {
        let started = vec![(
            "production".to_string(),
            "phase \"drop\" is irreversible: columns gone".to_string(),
        )];
        let off = change("production", (true, 10_000), (false, 10_000));
        let why = unsafe_because(&started, &[off]).expect("turning production off is unsafe");
        assert!(
            why.contains("production") && why.contains("columns gone"),
            "{why}"
        );
        let staging = change("staging", (true, 10_000), (false, 10_000));
        assert_eq!(unsafe_because(&started, &[staging]), None);
        let same = change("production", (true, 10_000), (true, 10_000));
        assert_eq!(unsafe_because(&started, &[same]), None);
        let lower = change("production", (true, 10_000), (true, 5_000));
        assert!(unsafe_because(&started, &[lower]).is_some());
        assert_eq!(
            unsafe_because(&[], &[change("production", (true, 1), (false, 1))]),
            None
        );
    }
}
