//! Views drawn once for everyone who reads them: the plan page's view and
//! timeline, kept per plan and reused while nothing they show has changed.
//! What they show changes with the plan (its revision, bumped by every
//! command and edit, which also covers its audit events), its guardrails'
//! readings, its jobs' runs, and time (soaks, evidence ages, the chart's
//! range): a kept view is used only while all four are the same, time to
//! the second. Every open page redraws after a change, and every one of
//! them after the first finds the view drawn (`PlanService::plan`,
//! `PlanService::timeline`).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::dto::plans::{PlanView, TimelineView};
use sqlx::AnyConnection;

use crate::db::StoreError;

/// Views kept at most (timelines: one per plan and range asked).
const CAPACITY: usize = 1024;

/// What a drawn view was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    revision: (i64, i64),
    newest_reading_ms: Option<i64>,
    runs_changed_ms: Option<i64>,
    second: i64,
}

impl Stamp {
    /// The plan's stamp now (three small reads); `None` when there is no
    /// such plan.
    pub async fn read(
        conn: &mut AnyConnection,
        plan_id: &str,
        now_ms: i64,
    ) -> Result<Option<Stamp>, StoreError> {
        let Some(revision) = crate::plans::store::revision(conn, plan_id).await? else {
            return Ok(None);
        };
        Ok(Some(Stamp {
            revision,
            newest_reading_ms: crate::plans::guardrail::measurements::newest_at(conn, plan_id)
                .await?,
            runs_changed_ms: crate::backfill::runs::last_change(conn, plan_id).await?,
            second: now_ms.div_euclid(1000),
        }))
    }
}

struct Kept<K, V> {
    entries: Mutex<HashMap<K, (Stamp, Arc<V>)>>,
}

impl<K: std::hash::Hash + Eq, V> Default for Kept<K, V> {
    fn default() -> Self {
        Kept {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Kept<K, V> {
    fn get<Q>(&self, key: &Q, stamp: &Stamp) -> Option<Arc<V>>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(drawn, _)| drawn == stamp)
            .map(|(_, v)| v.clone())
    }

    fn keep(&self, key: K, stamp: Stamp, value: Arc<V>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (stamp, value));
    }
}

/// The plan pages' views, shared by every clone of the plan service.
#[derive(Clone, Default)]
pub struct Pages {
    views: Arc<Kept<String, PlanView>>,
    timelines: Arc<Kept<(String, Option<i64>), TimelineView>>,
}

impl Pages {
    pub fn view(&self, plan_id: &str, stamp: &Stamp) -> Option<Arc<PlanView>> {
        self.views.get(plan_id, stamp)
    }

    pub fn keep_view(&self, plan_id: &str, stamp: Stamp, view: Arc<PlanView>) {
        self.views.keep(plan_id.to_string(), stamp, view);
    }

    pub fn timeline(
        &self,
        plan_id: &str,
        hours: Option<i64>,
        stamp: &Stamp,
    ) -> Option<Arc<TimelineView>> {
        self.timelines.get(&(plan_id.to_string(), hours), stamp)
    }

    pub fn keep_timeline(
        &self,
        plan_id: &str,
        hours: Option<i64>,
        stamp: Stamp,
        view: Arc<TimelineView>,
    ) {
        self.timelines
            .keep((plan_id.to_string(), hours), stamp, view);
    }
}
