//! What readers see, drawn once per change and kept in `pages`: the plans
//! list, a plan's view (with the facts its checks read) and its timeline,
//! and the gates and change requests awaiting an approver.
use app::access::Action;
use app::dto::live::Inbox;
use app::dto::plans::{PlanSummary, PlanView};
use app::service::Caller;
use sqlx::AnyConnection;

use super::error::PlanError;
use crate::backfill::facts::JobFacts;
use crate::plans::guardrail::GuardrailDef;
use crate::plans::pages::{Awaiting, Stamp};
use crate::plans::rules::evidence::jobs_of;
use crate::plans::rules::facts::{Facts, GuardrailFacts};
use crate::plans::store::{self, Loaded};
use crate::plans::view::{plan_view, summary};
use crate::plans::PlanService;

impl PlanService {
    pub async fn summaries(&self) -> Result<Vec<PlanSummary>, PlanError> {
        let mut conn = self.store.pool().acquire().await?;
        let stamp = store::list_stamp(&mut conn).await?;
        if let Some(drawn) = self.pages.list(&stamp) {
            return Ok((*drawn).clone());
        }
        let pending = crate::plans::store::change_requests::pending_by_plan(&mut conn).await?;
        let list: Vec<PlanSummary> = store::list(&mut conn)
            .await?
            .iter()
            .map(|(plan, flag, progress)| PlanSummary {
                pending_change: pending.get(&plan.id).cloned(),
                ..summary(plan, flag, progress, &self.environments)
            })
            .collect();
        self.pages
            .keep_list(stamp, std::sync::Arc::new(list.clone()));
        Ok(list)
    }

    /// The backfill runs of the plan's jobs and its guardrails' recent
    /// measurements, for the automatic checks.
    pub(super) async fn facts(
        &self,
        conn: &mut AnyConnection,
        l: &Loaded,
    ) -> Result<Facts, PlanError> {
        let file = crate::plans::file::parsed::parsed(&l.plan.source_toml);
        let jobs = JobFacts::load(conn, &l.plan.id, jobs_of(file.as_deref())).await?;
        let declared: Vec<GuardrailDef> = file
            .iter()
            .flat_map(|f| f.guardrails.iter())
            .map(|g| GuardrailDef::from_spec(g.get_ref()))
            .collect();
        // Only the readings the items' windows look at, and the newest of
        // each: a page costs the same after a month of readings as after a minute.
        let since = self.clock.now_ms() - GuardrailFacts::window_ms(&declared);
        let measurements =
            crate::plans::guardrail::measurements::recent(conn, &l.plan.id, since, 5_000).await?;
        Ok(Facts {
            jobs,
            guardrails: GuardrailFacts {
                declared,
                measurements,
                latest: Vec::new(),
            },
        })
    }

    /// The plan's view drawn anew: what `PlanPort::plan` keeps in `pages`.
    async fn plan_view(&self, id: &str) -> Result<PlanView, PlanError> {
        let l = self.load(id).await?;
        let mut conn = self.conn().await?;
        let mut facts = self.facts(&mut conn, &l).await?;
        // The card's newest readings: the page needs them, a command does not.
        facts.guardrails.latest =
            crate::plans::guardrail::measurements::latest(&mut conn, &l.plan.id).await?;
        let mut view = plan_view(&l, self.clock.now_ms(), &facts, &self.environments);
        let change = crate::plans::store::change_requests::pending(&mut conn, &l.plan.id).await?;
        view.summary.pending_change = change.as_ref().map(|c| c.id.clone());
        view.change_request = change
            .as_ref()
            .map(|c| crate::plans::view::change_view(c, &l.plan.source_toml));
        drop(conn);
        let events = self.trails.of(&self.store, &l.plan.id).await?;
        view.edits_since_approval = crate::plans::view::edits::since_last_approval(&events, &l);
        view.incident = crate::plans::view::incident::latest(&events, &view.rollbacks);
        let mut conn = self.conn().await?;
        let newest = crate::plans::store::incidents::newest_of(&mut conn, &l.plan.id).await?;
        view.oncall = newest.map(|i| {
            let steps = crate::plans::file::parsed::parsed(&l.plan.source_toml)
                .map(|f| crate::plans::file::spec::oncall::steps(&f))
                .unwrap_or_default();
            crate::plans::view::oncall::oncall_view(&i, &steps)
        });
        Ok(view)
    }

    /// The plan's view as of `stamp` (drawn once per stamp, `pages`).
    pub(super) async fn view_at(&self, id: &str, stamp: Stamp) -> Result<PlanView, PlanError> {
        if let Some(drawn) = self.pages.view(id, &stamp) {
            return Ok((*drawn).clone());
        }
        let drawing = self.pages.drawing(id);
        let _drawing = drawing.lock().await;
        if let Some(drawn) = self.pages.view(id, &stamp) {
            return Ok((*drawn).clone());
        }
        let view = std::sync::Arc::new(self.plan_view(id).await?);
        self.pages.keep_view(id, stamp, view.clone());
        Ok((*view).clone())
    }

    /// The plan's timeline as of `stamp` (drawn once per stamp and range),
    /// as `caller` may see it.
    pub(super) async fn timeline_at(
        &self,
        caller: &Caller,
        plan: &PlanView,
        hours: Option<i64>,
        stamp: Stamp,
    ) -> Result<app::dto::plans::TimelineView, PlanError> {
        let id = plan.summary.id.as_str();
        let drawn = match self.pages.timeline(id, hours, &stamp) {
            Some(drawn) => drawn,
            None => {
                let drawing = self.pages.drawing(id);
                let _drawing = drawing.lock().await;
                match self.pages.timeline(id, hours, &stamp) {
                    Some(drawn) => drawn,
                    None => {
                        let drawn = std::sync::Arc::new(
                            self.timeline_view(id, plan.created_at_ms, hours).await?,
                        );
                        self.pages.keep_timeline(id, hours, stamp, drawn.clone());
                        drawn
                    }
                }
            }
        };
        let mut view = (*drawn).clone();
        // The range's audit events name people, their addresses and
        // browsers: only for those who may read the audit trail (a
        // plans:read token gets the chart and the count).
        if caller.require(Action::ReadAudit).is_err() {
            view.events.clear();
        }
        Ok(view)
    }

    /// What awaits `caller`: the gates and change requests they may decide
    /// (none for one who may not approve), and the incidents that paged them.
    pub(super) async fn waiting_for(&self, caller: &Caller) -> Result<Inbox, PlanError> {
        use crate::plans::view::waiting::{changes, gates, incidents, Approver};
        let Some(app::access::Principal::User {
            id,
            username,
            roles,
        }) = caller.principal.as_ref()
        else {
            return Ok(Inbox::default());
        };
        if caller.require(Action::ReadPlans).is_err() {
            return Ok(Inbox::default());
        }
        let who = Approver {
            id,
            username,
            roles,
        };
        // Every page's header counts this: the stamp read for one page
        // serves the next ones for a moment (`Pages::recent_list_stamp`).
        let published = self.events.published();
        let stamp = match self.pages.recent_list_stamp(published) {
            Some(stamp) => stamp,
            None => {
                let stamp = store::list_stamp(&mut *self.conn().await?).await?;
                self.pages.keep_list_stamp(published, stamp);
                stamp
            }
        };
        let awaiting = match self.pages.awaiting(&stamp) {
            Some(kept) => kept,
            None => {
                let mut conn = self.conn().await?;
                let awaiting = std::sync::Arc::new(Awaiting {
                    gates: store::awaiting_approval(&mut conn).await?,
                    changes: crate::plans::store::change_requests::pending_in_active_plans(
                        &mut conn,
                    )
                    .await?,
                    incidents: crate::plans::store::incidents::unacknowledged_named(&mut conn)
                        .await?,
                });
                self.pages.keep_awaiting(stamp, awaiting.clone());
                awaiting
            }
        };
        let approver = caller.require(Action::ApproveGates).is_ok();
        Ok(Inbox {
            gates: if approver {
                gates(&who, awaiting.gates.clone())
            } else {
                Vec::new()
            },
            changes: if approver {
                changes(&who, awaiting.changes.clone())
            } else {
                Vec::new()
            },
            incidents: incidents(&who, &awaiting.incidents),
        })
    }
}
