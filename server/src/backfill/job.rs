//! A job ready to run: its spec from the plan file with defaults applied, and
//! the keyset query the shorthand stands for.
use app::dto::StoreBackend;

use super::sandbox::Access;
use super::spec::JobSpec;

/// How long a chunk holds the target's locks when the plan does not say
/// (`target_chunk_ms`): 60 ms, so that with the spread of chunk times (the
/// slowest chunks take about half as long again) the application's own
/// writes to the rows a chunk touches wait at most 100 ms.
pub const TARGET_CHUNK_MS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPolicy {
    Pause,
    Skip,
    Rollback,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// The target in environments `targets` does not name.
    pub target: String,
    pub targets: std::collections::BTreeMap<String, String>,
    /// The phases a live run may start in (empty: any).
    pub phases: Vec<String>,
    pub require_dry_run: bool,
    /// No apply: the job only verifies (a parity check).
    pub verify_only: bool,
    pub key: String,
    /// The next keys after `$1`, at most `$2`, ascending.
    pub select: String,
    /// The first and last key and the number of keys of the next chunk,
    /// computed on the target (the keys themselves are only fetched to
    /// split a failing range).
    pub bounds: String,
    /// Counts the keys left after `$1` (for the estimate), when the shorthand
    /// is used.
    pub count: Option<String>,
    pub apply: String,
    /// PostgreSQL: `apply` wrapped so the created keys come back as one
    /// comma-separated text value.
    pub apply_listing_keys: String,
    pub undo: Option<String>,
    pub verify: Option<(String, String)>,
    /// The anti-join, as written and wrapped to count its rows and to list
    /// the first ten keys.
    pub verify_missing: Option<Missing>,
    /// Value parity: the legacy and the new rows' keys and values.
    pub parity: Option<(String, String)>,
    /// Wait while a health signal of the target is past its number.
    pub throttle: Vec<(super::signal::Signal, f64)>,
    pub window: Option<super::window::Window>,
    pub max_delta: i64,
    pub chunk: i64,
    pub fixed_chunk: bool,
    pub target_chunk_ms: i64,
    pub max_rows_per_sec: i64,
    pub pause_ms: i64,
    pub policy: ErrorPolicy,
    pub error_threshold_pct: f64,
    /// The counter exported for its live runs, and its labels.
    pub metric: Option<(String, std::collections::BTreeMap<String, String>)>,
}

impl Job {
    pub fn from_spec(s: &JobSpec) -> Job {
        let key = s
            .key
            .as_ref()
            .map_or(String::new(), |k| k.get_ref().clone());
        let apply = s
            .apply
            .as_ref()
            .map_or(String::new(), |a| a.get_ref().clone());
        let (select, count) = match (&s.table, &s.select) {
            (Some(table), _) => {
                let table = table.get_ref();
                let filter = s
                    .filter
                    .as_ref()
                    .map(|f| format!(" AND ({})", f.get_ref()))
                    .unwrap_or_default();
                (
                    format!("SELECT {key} FROM {table} WHERE {key} > $1{filter} ORDER BY {key} LIMIT $2"),
                    Some(format!("SELECT COUNT(*) FROM {table} WHERE {key} > $1{filter}")),
                )
            }
            (None, Some(select)) => (select.get_ref().clone(), None),
            (None, None) => (String::new(), None),
        };
        let bounds = format!("SELECT MIN({key}), MAX({key}), COUNT(*) FROM ({select}) AS chunk");
        Job {
            bounds,
            name: s.name.get_ref().clone(),
            target: s.target.get_ref().clone(),
            targets: s
                .targets
                .iter()
                .map(|(env, t)| (env.clone(), t.get_ref().clone()))
                .collect(),
            phases: s.phases.iter().map(|p| p.get_ref().clone()).collect(),
            require_dry_run: s.require_dry_run,
            verify_only: s.apply.is_none(),
            key,
            select,
            count,
            apply_listing_keys: format!(
                "WITH created AS ({}) SELECT COALESCE(string_agg(c.k::text, ','), '') FROM created AS c(k)",
                apply.trim().trim_end_matches(';')
            ),
            apply,
            undo: s.undo.as_ref().map(|u| u.get_ref().clone()),
            verify: s
                .verify_legacy
                .as_ref()
                .zip(s.verify_new.as_ref())
                .map(|(l, n)| (l.get_ref().clone(), n.get_ref().clone())),
            verify_missing: s.verify_missing.as_ref().map(|m| Missing::of(m.get_ref())),
            parity: s
                .parity_legacy
                .as_ref()
                .zip(s.parity_new.as_ref())
                .map(|(l, n)| (l.get_ref().clone(), n.get_ref().clone())),
            throttle: s
                .throttle
                .iter()
                .filter_map(|(name, v)| Some((super::signal::Signal::parse(name)?, *v.get_ref())))
                .collect(),
            window: s.window.as_ref().and_then(|w| super::window::Window::of(w.get_ref())),
            max_delta: s.max_delta.as_ref().map_or(0, |d| *d.get_ref()),
            chunk: s.chunk.as_ref().map_or(1000, |c| *c.get_ref()),
            fixed_chunk: s.fixed_chunk,
            target_chunk_ms: s
                .target_chunk_ms
                .as_ref()
                .map_or(TARGET_CHUNK_MS, |t| *t.get_ref()),
            max_rows_per_sec: s.max_rows_per_sec.as_ref().map_or(0, |m| *m.get_ref()),
            pause_ms: s.pause_ms.as_ref().map_or(0, |p| *p.get_ref()),
            policy: match s.error_policy.as_ref().map(|p| p.get_ref().as_str()) {
                Some("skip") => ErrorPolicy::Skip,
                Some("rollback") => ErrorPolicy::Rollback,
                _ => ErrorPolicy::Pause,
            },
            error_threshold_pct: s
                .error_threshold_pct
                .as_ref()
                .map_or(100.0, |t| *t.get_ref()),
            metric: s.metric.as_ref().map(|m| {
                let labels = s
                    .metric_labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                    .collect();
                (m.get_ref().clone(), labels)
            }),
        }
    }

    /// Every statement the job runs on a target of `backend`, with the field
    /// it comes from and what it may do there (see `sandbox`).
    pub fn statements(&self, backend: StoreBackend) -> Vec<(&'static str, &str, Access)> {
        let mut all = self.walk_statements(backend);
        if let Some((legacy, new)) = &self.verify {
            all.push(("verify_legacy", legacy.as_str(), Access::Read));
            all.push(("verify_new", new.as_str(), Access::Read));
        }
        if let Some((legacy, new)) = &self.parity {
            all.push(("parity_legacy", legacy.as_str(), Access::Read));
            all.push(("parity_new", new.as_str(), Access::Read));
        }
        if let Some(m) = &self.verify_missing {
            all.push(("verify_missing", m.count.as_str(), Access::Read));
            all.push(("verify_missing", m.first.as_str(), Access::Read));
        }
        all
    }

    /// The target a run in `environment` uses.
    pub fn target_for(&self, environment: &str) -> &str {
        self.targets.get(environment).unwrap_or(&self.target)
    }

    fn walk_statements(&self, backend: StoreBackend) -> Vec<(&'static str, &str, Access)> {
        if self.verify_only {
            return Vec::new();
        }
        let mut all = vec![
            ("select", self.select.as_str(), Access::Read),
            ("select", self.bounds.as_str(), Access::Read),
        ];
        if let Some(count) = &self.count {
            all.push(("select", count.as_str(), Access::Read));
        }
        all.push(("apply", self.apply.as_str(), Access::Write));
        if backend == StoreBackend::Postgres {
            all.push(("apply", self.apply_listing_keys.as_str(), Access::Write));
        }
        if let Some(undo) = &self.undo {
            all.push(("undo", undo.as_str(), Access::Write));
        }
        all
    }
}

/// A job's `verify_missing` query, counted and sampled as one statement each.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub count: String,
    pub first: String,
}

impl Missing {
    fn of(sql: &str) -> Missing {
        let inner = sql.trim().trim_end_matches(';');
        Missing {
            count: format!("SELECT COUNT(*) FROM ({inner}) AS missing"),
            first: format!("SELECT * FROM ({inner}) AS missing LIMIT 10"),
        }
    }
}
