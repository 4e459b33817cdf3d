//! The plan port: reading plans, creating them (from a template or a TOML
//! file), editing their definition, and running commands on them. Every
//! change commits with its audit event, then tells open pages (SSE) and the
//! flag cache.
use app::access::Action;
use app::dto::plans::{
    CommandOutcome, NewPlan, PlanCommand, PlanSource, PlanSummary, PlanView, TemplateInfo,
};
use app::error::{AppError, Conflict};
use app::service::{Caller, PlanPort};
use serde_json::json;

use sqlx::AnyConnection;

use super::acting::{subject, Acting};
use super::changes::{apply_source, request_change};
use super::error::PlanError;
use crate::audit;
use crate::backfill::facts::JobFacts;
use crate::db::Store;
use crate::events::PlanEvents;
use crate::flags::cache::FlagCache;
use crate::plans::file::definition::{self, PlanDef};
use crate::plans::file::templates::TEMPLATES;
use crate::plans::guardrail::GuardrailDef;
use crate::plans::pages::{Awaiting, Stamp};
use crate::plans::rules::evidence::jobs_of;
use crate::plans::rules::facts::Facts;
use crate::plans::rules::facts::GuardrailFacts;
use crate::plans::rules::weakening::weakening;
use crate::plans::store::materialize::{edit_refusal, insert_plan};
use crate::plans::store::{self, Loaded};
use crate::plans::view::{plan_view, summary, summary_of};

#[derive(Clone)]
pub struct PlanService {
    pub(super) store: Store,
    pub(super) events: PlanEvents,
    pub(super) flags: FlagCache,
    /// The configured environments, in promotion order.
    pub(super) environments: std::sync::Arc<Vec<String>>,
    /// The configured Prometheus servers (a plan's guardrails read them).
    pub(super) prometheus:
        std::sync::Arc<std::collections::BTreeMap<String, crate::config::PrometheusConfig>>,
    pub(super) clock: crate::clock::Clock,
    /// The configured targets (a phase's `allow_query` runs on one).
    pub(super) targets:
        std::sync::Arc<std::collections::BTreeMap<String, crate::config::TargetConfig>>,
    /// Plan views and timelines drawn once for every reader (`pages`).
    pub(super) pages: crate::plans::pages::Pages,
    /// Each plan's audit events as read so far (`trail`).
    pub(super) trails: crate::plans::trail::Trails,
}

pub(super) use crate::plans::file::sha256_hex;

impl PlanService {
    /// The plan service as the configuration says — its environments and
    /// its targets — the one construction the server and every CLI command
    /// share (the server adds its clock, `with_clock`). `events` and
    /// `flags`: the server's live feed and flag cache; a CLI command's own.
    pub fn from_config(
        store: Store,
        config: &crate::config::Config,
        (events, flags): (PlanEvents, FlagCache),
    ) -> Self {
        PlanService::new(store, events, flags)
            .with_environments(config.environments.clone())
            .with_targets(config.targets.clone())
            .with_prometheus(config.prometheus.clone())
    }

    pub fn new(store: Store, events: PlanEvents, flags: FlagCache) -> Self {
        PlanService {
            store,
            events,
            flags,
            environments: std::sync::Arc::new(
                crate::config::DEFAULT_ENVIRONMENTS
                    .map(String::from)
                    .to_vec(),
            ),
            targets: std::sync::Arc::default(),
            prometheus: std::sync::Arc::default(),
            clock: crate::clock::Clock::default(),
            pages: Default::default(),
            trails: Default::default(),
        }
    }

    /// The same service on `clock`.
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same service over the configured targets.
    pub fn with_targets(
        mut self,
        targets: std::collections::BTreeMap<String, crate::config::TargetConfig>,
    ) -> Self {
        self.targets = std::sync::Arc::new(targets);
        self
    }

    /// The same service over the configured Prometheus servers.
    pub fn with_prometheus(
        mut self,
        prometheus: std::collections::BTreeMap<String, crate::config::PrometheusConfig>,
    ) -> Self {
        self.prometheus = std::sync::Arc::new(prometheus);
        self
    }

    /// Whether `def` (from `source`) fits this console (`fits`).
    fn check_fits(&self, def: &PlanDef, source: &str) -> Result<(), PlanError> {
        crate::plans::fits::check(&self.environments, &self.prometheus, def, source)
    }

    /// The same service over the configured environments.
    pub fn with_environments(mut self, environments: Vec<String>) -> Self {
        self.environments = std::sync::Arc::new(environments);
        self
    }

    /// A connection of the store's pool.
    pub(super) async fn conn(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, crate::db::StoreError> {
        Ok(self.store.pool().acquire().await?)
    }

    /// What the plan's views are drawn from now (`pages::Stamp`); not found
    /// when there is no such plan.
    pub(super) async fn stamp(&self, id: &str) -> Result<Stamp, PlanError> {
        let mut conn = self.conn().await?;
        Stamp::read(&mut conn, id, self.clock.now_ms())
            .await?
            .ok_or_else(|| PlanError::NotFound(format!("plan {id:?}")))
    }

    pub(super) async fn load(&self, id: &str) -> Result<Loaded, PlanError> {
        let mut conn = self.store.pool().acquire().await?;
        store::load(&mut conn, self.store.backend(), id, false)
            .await?
            .ok_or_else(|| PlanError::NotFound(format!("plan {id:?}")))
    }

    /// Resolves a plan given by id or by name (the CLI accepts either).
    pub async fn resolve(&self, id_or_name: &str) -> Result<String, PlanError> {
        let mut conn = self.store.pool().acquire().await?;
        let by_id = store::plan_id(&mut conn, id_or_name).await?;
        match by_id {
            Some(id) => Ok(id),
            None => store::plan_id_by_name(&mut conn, id_or_name)
                .await?
                .ok_or_else(|| PlanError::NotFound(format!("plan {id_or_name:?}"))),
        }
    }

    /// The plan file as stored (the CLI's export; no caller to authorize).
    pub async fn source_of(&self, id: &str) -> Result<String, PlanError> {
        Ok(self.load(id).await?.plan.source_toml)
    }

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

    /// Stores a new draft plan from a TOML source: the import of the CLI and
    /// the API, and (renamed) a template.
    pub async fn import_as(
        &self,
        acting: &Acting,
        source: &str,
        template: Option<&str>,
    ) -> Result<PlanSummary, PlanError> {
        let def = definition::parse(source).map_err(|problems| {
            PlanError::Invalid(format!("the plan file has problems:\n{problems}"))
        })?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = self.clock.now_ms();
        self.check_fits(&def, source)?;
        let mut tx = self.store.begin_write().await?;
        check_unique(&mut tx, &def, None).await?;
        insert_plan(&mut tx, &id, &def, source, acting.actor.name(), now)
            .await
            .map_err(|e| {
                // Another import took the name or flag between the check and here.
                crate::db::on_constraint(e, || {
                    PlanError::Conflict(
                        Conflict::AlreadyExists,
                        format!(
                            "plan.name or plan.flag: {:?} or {:?} was just taken; choose another",
                            def.name, def.flag_key
                        ),
                    )
                })
            })?;
        audit::append(
            &mut tx,
            now,
            &acting.actor,
            &acting.client,
            if template.is_some() {
                "plan.create"
            } else {
                "plan.import"
            },
            &subject(&id),
            json!({
                "name": def.name,
                "flag": def.flag_key,
                "phases": def.phases.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                "template": template,
                "source_sha256": sha256_hex(source),
            }),
        )
        .await?;
        crate::plans::store::sources::keep(&mut tx, &id, source, now).await?;
        let loaded = store::load(&mut tx, self.store.backend(), &id, false)
            .await?
            .ok_or_else(|| PlanError::NotFound(format!("plan {id:?}")))?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        Ok(summary_of(&loaded, &self.environments))
    }

    /// Replaces a plan's definition with `source`, if `revision` is still
    /// current and the edit does not rewrite what already happened.
    pub async fn save_source_as(
        &self,
        acting: &Acting,
        id: &str,
        source: &str,
        revision: i64,
    ) -> Result<PlanSummary, PlanError> {
        let def = definition::parse(source).map_err(|problems| {
            PlanError::Invalid(format!("the plan file has problems:\n{problems}"))
        })?;
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        let l = self.load_locked(&mut tx, id).await?;
        if l.plan.revision != revision {
            return Err(PlanError::Conflict(
                Conflict::StaleRevision,
                format!(
                    "the plan changed since you opened it (revision {revision}, now {}); \
                 reload it and apply your change again",
                    l.plan.revision
                ),
            ));
        }
        if let Some(why) = edit_refusal(&l, &def) {
            return Err(PlanError::Conflict(Conflict::WrongState, why));
        }
        if l.plan.source_toml == source {
            return Ok(summary_of(&l, &self.environments));
        }
        self.check_fits(&def, source)?;
        check_unique(&mut tx, &def, Some(id)).await?;
        match weakening(&l, &def, source) {
            // On a running plan, an edit that weakens a gate waits for the
            // approvals that gate asked for.
            Some(w) => request_change(&mut tx, &l, acting, source, w, now).await?,
            None => apply_source(&mut tx, &l, &def, source, acting, now, None).await?,
        }
        let revision = self
            .finish(
                tx,
                id,
                now,
                acting,
                "the plan was edited: the phase configuration or checklist changed",
                &l.plan.source_toml,
            )
            .await?;
        let mut out = summary_of(&self.load(id).await?, &self.environments);
        let mut conn = self.store.pool().acquire().await?;
        out.pending_change = crate::plans::store::change_requests::pending(&mut conn, id)
            .await?
            .map(|c| c.id);
        out.revision = revision;
        Ok(out)
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
        Ok(view)
    }

    pub(super) async fn load_locked(
        &self,
        conn: &mut AnyConnection,
        id: &str,
    ) -> Result<Loaded, PlanError> {
        store::load(conn, self.store.backend(), id, true)
            .await?
            .ok_or_else(|| PlanError::NotFound(format!("plan {id:?}")))
    }
}

/// Plan names and flag keys are unique; says which one is taken.
pub(super) async fn check_unique(
    conn: &mut AnyConnection,
    def: &PlanDef,
    except: Option<&str>,
) -> Result<(), PlanError> {
    if let Some(other) = store::plan_id_by_name(conn, &def.name).await? {
        if Some(other.as_str()) != except {
            return Err(PlanError::Conflict(
                Conflict::AlreadyExists,
                format!(
                    "plan.name: a plan named {:?} exists; choose another name",
                    def.name
                ),
            ));
        }
    }
    let owner = crate::flags::store::owner(conn, &def.flag_key).await?;
    if let Some(owner) = owner {
        if Some(owner.as_str()) != except {
            return Err(PlanError::Conflict(
                Conflict::AlreadyExists,
                format!(
                    "plan.flag: the flag {:?} belongs to another plan; a plan owns its flag",
                    def.flag_key
                ),
            ));
        }
    }
    Ok(())
}

impl PlanService {
    /// The plan's view as of `stamp` (drawn once per stamp, `pages`).
    async fn view_at(&self, id: &str, stamp: Stamp) -> Result<PlanView, PlanError> {
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
    async fn timeline_at(
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
}

pub fn template_infos() -> Vec<TemplateInfo> {
    TEMPLATES
        .iter()
        .filter_map(|t| {
            let def = definition::parse(t.toml).ok()?;
            Some(TemplateInfo {
                slug: t.slug.to_string(),
                name: def.name,
                description: def.description,
                flag_key: def.flag_key,
                phases: def.phases.into_iter().map(|p| p.name).collect(),
            })
        })
        .collect()
}

#[async_trait::async_trait]
impl PlanPort for PlanService {
    async fn waiting(
        &self,
        caller: &Caller,
    ) -> Result<
        (
            Vec<app::dto::live::WaitingGate>,
            Vec<app::dto::live::WaitingChange>,
        ),
        AppError,
    > {
        use crate::plans::view::waiting::{changes, gates, Approver};
        let Ok(app::access::Principal::User {
            id,
            username,
            roles,
        }) = caller.require(Action::ApproveGates)
        else {
            return Ok((Vec::new(), Vec::new()));
        };
        let who = Approver {
            id,
            username,
            roles,
        };
        let mut conn = self.conn().await?;
        let stamp = store::list_stamp(&mut conn).await?;
        let awaiting = match self.pages.awaiting(&stamp) {
            Some(kept) => kept,
            None => {
                let awaiting = std::sync::Arc::new(Awaiting {
                    gates: store::awaiting_approval(&mut conn).await?,
                    changes: crate::plans::store::change_requests::pending_in_active_plans(
                        &mut conn,
                    )
                    .await?,
                });
                self.pages.keep_awaiting(stamp, awaiting.clone());
                awaiting
            }
        };
        Ok((
            gates(&who, awaiting.gates.clone()),
            changes(&who, awaiting.changes.clone()),
        ))
    }

    async fn timeline(
        &self,
        caller: &Caller,
        id: String,
        hours: Option<i64>,
    ) -> Result<app::dto::plans::TimelineView, AppError> {
        caller.require(Action::ReadPlans)?;
        let stamp = self.stamp(&id).await?;
        let plan = self.view_at(&id, stamp).await?;
        Ok(self.timeline_at(caller, &plan, hours, stamp).await?)
    }

    async fn plans(&self, caller: &Caller) -> Result<Vec<PlanSummary>, AppError> {
        caller.require(Action::ReadPlans)?;
        Ok(self.summaries().await?)
    }

    async fn plan(&self, caller: &Caller, id: String) -> Result<PlanView, AppError> {
        caller.require(Action::ReadPlans)?;
        let stamp = self.stamp(&id).await?;
        Ok(self.view_at(&id, stamp).await?)
    }

    async fn page(
        &self,
        caller: &Caller,
        id: String,
        hours: Option<i64>,
    ) -> Result<app::dto::plans::PlanPage, AppError> {
        caller.require(Action::ReadPlans)?;
        let stamp = self.stamp(&id).await?;
        let plan = self.view_at(&id, stamp).await?;
        let timeline = self
            .timeline_at(caller, &plan, hours, stamp)
            .await
            .map_err(AppError::from);
        Ok(app::dto::plans::PlanPage {
            tag: stamp.tag(),
            plan,
            timeline,
        })
    }

    async fn templates(&self, caller: &Caller) -> Result<Vec<TemplateInfo>, AppError> {
        caller.require(Action::ReadPlans)?;
        Ok(template_infos())
    }

    async fn create(&self, caller: &Caller, new: NewPlan) -> Result<PlanSummary, AppError> {
        let who = caller.require(Action::WritePlans)?;
        let template = TEMPLATES
            .iter()
            .find(|t| t.slug == new.template)
            .ok_or_else(|| {
                AppError::Invalid(format!(
                    "template: {:?} is not a template; choose one of {}",
                    new.template,
                    TEMPLATES.map(|t| t.slug).join(", ")
                ))
            })?;
        let source = definition::renamed(template.toml, &new.name, &new.flag_key)
            .map_err(AppError::Invalid)?;
        Ok(self
            .import_as(&Acting::of(who, caller), &source, Some(template.slug))
            .await?)
    }

    async fn import(&self, caller: &Caller, source: String) -> Result<PlanSummary, AppError> {
        let who = caller.require(Action::WritePlans)?;
        Ok(self
            .import_as(&Acting::of(who, caller), &source, None)
            .await?)
    }

    async fn source(&self, caller: &Caller, id: String) -> Result<PlanSource, AppError> {
        caller.require(Action::ReadPlans)?;
        let l = self.load(&id).await?;
        Ok(PlanSource {
            id: l.plan.id,
            name: l.plan.name,
            status: l.plan.status,
            revision: l.plan.revision,
            source: l.plan.source_toml,
        })
    }

    async fn save_source(
        &self,
        caller: &Caller,
        id: String,
        source: String,
        revision: i64,
    ) -> Result<PlanSummary, AppError> {
        let who = caller.require(Action::WritePlans)?;
        Ok(self
            .save_source_as(&Acting::of(who, caller), &id, &source, revision)
            .await?)
    }

    async fn command(
        &self,
        caller: &Caller,
        id: String,
        command: PlanCommand,
    ) -> Result<CommandOutcome, AppError> {
        Ok(self.run(caller, &id, command).await?)
    }
}
