//! Views drawn once for everyone who reads them: the plan page's view and
//! timeline, kept per plan and reused while nothing they show has changed,
//! and the plans' list and what waits for approvers, kept while no plan
//! changed.
//! What they show changes with the plan (its revision, bumped by every
//! command and edit), what happened to it (its newest audit event: a
//! guardrail's state changing, a run starting or ending), and time (soaks,
//! evidence ages, the chart's range, the newest readings and a running
//! job's progress): a kept view is used only while all three are the same,
//! time to the second. A guarded plan takes a reading every few
//! milliseconds and a running job moves as often: they show at most a
//! second late, while anything that changes a state or redraws an open page
//! (which follows an audited change) shows at once. Every open page redraws
//! after a change, and every one of them after the first finds the view
//! drawn; while one request draws a plan's view, others for that plan wait
//! for it rather than draw it too (`PlanService::view_at`).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::dto::plans::{PlanSummary, PlanView, TimelineView};
use sqlx::AnyConnection;

use crate::db::StoreError;
use crate::plans::store::change_requests::ChangeRecord;
use crate::plans::store::PhaseRecord;

/// Views kept at most (timelines: one per plan and range asked).
const CAPACITY: usize = 1024;

/// What a drawn view was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    revision: (i64, i64),
    newest_event: Option<i64>,
    second: i64,
}

impl Stamp {
    /// The plan's stamp now (two small reads); `None` when there is no such
    /// plan.
    pub async fn read(
        conn: &mut AnyConnection,
        plan_id: &str,
        now_ms: i64,
    ) -> Result<Option<Stamp>, StoreError> {
        let Some(revision) = crate::plans::store::revision(conn, plan_id).await? else {
            return Ok(None);
        };
        let subject = format!("plan:{plan_id}");
        Ok(Some(Stamp {
            revision,
            newest_event: crate::audit::query::newest_about(conn, &subject).await?,
            second: now_ms.div_euclid(1000),
        }))
    }

    /// The stamp as a tag the page can name its drawings by
    /// (`app::pages::regions`): equal tags, equal views.
    pub fn tag(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.revision.0,
            self.revision.1,
            self.newest_event.unwrap_or(0),
            self.second
        )
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

/// What the plans' list was drawn from: how many plans, their newest
/// change and the sum of their revisions (`store::list_stamp`).
pub type ListStamp = (i64, i64, i64);

/// What waits for approvers in active plans: gates (plan id, plan name,
/// phase) and change requests (plan name, change), before each approver's
/// own filter (`view::waiting`).
#[derive(Debug, Clone)]
pub struct Awaiting {
    pub gates: Vec<(String, String, PhaseRecord)>,
    pub changes: Vec<(String, ChangeRecord)>,
    /// Unacknowledged incidents, with their plan's name.
    pub incidents: Vec<(String, crate::plans::store::incidents::IncidentRecord)>,
}

/// How long the plans' stamp read for one page serves the next ones while
/// this process published no change: a change made elsewhere (the CLI,
/// another instance) shows in a page's header count at most this late, and
/// the count's live feed corrects it meanwhile.
const LIST_STAMP_REUSED: std::time::Duration = std::time::Duration::from_millis(500);

/// The plans' stamp as last read: when, after how many published changes.
type ReadStamp = (std::time::Instant, u64, ListStamp);

/// One value read from every plan, kept while no plan changed.
struct KeptForAll<V>(Mutex<Option<(ListStamp, Arc<V>)>>);

impl<V> Default for KeptForAll<V> {
    fn default() -> Self {
        KeptForAll(Mutex::new(None))
    }
}

impl<V> KeptForAll<V> {
    fn get(&self, stamp: &ListStamp) -> Option<Arc<V>> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|(drawn, _)| drawn == stamp)
            .map(|(_, v)| v.clone())
    }

    fn keep(&self, stamp: ListStamp, value: Arc<V>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((stamp, value));
    }
}

/// The plan pages' views, shared by every clone of the plan service.
#[derive(Clone, Default)]
pub struct Pages {
    /// Held while a plan's view or timeline is drawn.
    drawing: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    views: Arc<Kept<String, PlanView>>,
    timelines: Arc<Kept<(String, Option<i64>), TimelineView>>,
    list: Arc<KeptForAll<Vec<PlanSummary>>>,
    awaiting: Arc<KeptForAll<Awaiting>>,
    list_stamp: Arc<Mutex<Option<ReadStamp>>>,
}

impl Pages {
    /// The lock held while a view of `plan_id` is drawn.
    pub fn drawing(&self, plan_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut drawing = self.drawing.lock().unwrap_or_else(|p| p.into_inner());
        if drawing.len() >= CAPACITY {
            drawing.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        drawing.entry(plan_id.to_string()).or_default().clone()
    }

    /// The plans' stamp read for an earlier page, while it may serve this
    /// one: read less than `LIST_STAMP_REUSED` ago, with no change published
    /// since (`published`: `PlanEvents::published`).
    pub fn recent_list_stamp(&self, published: u64) -> Option<ListStamp> {
        let read = self.list_stamp.lock().unwrap_or_else(|p| p.into_inner());
        read.filter(|(at, seen, _)| *seen == published && at.elapsed() < LIST_STAMP_REUSED)
            .map(|(_, _, stamp)| stamp)
    }

    /// `stamp`, read after `published` changes (taken before the read).
    pub fn keep_list_stamp(&self, published: u64, stamp: ListStamp) {
        *self.list_stamp.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), published, stamp));
    }

    pub fn list(&self, stamp: &ListStamp) -> Option<Arc<Vec<PlanSummary>>> {
        self.list.get(stamp)
    }

    pub fn keep_list(&self, stamp: ListStamp, list: Arc<Vec<PlanSummary>>) {
        self.list.keep(stamp, list);
    }

    pub fn awaiting(&self, stamp: &ListStamp) -> Option<Arc<Awaiting>> {
        self.awaiting.get(stamp)
    }

    pub fn keep_awaiting(&self, stamp: ListStamp, awaiting: Arc<Awaiting>) {
        self.awaiting.keep(stamp, awaiting);
    }

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
