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
use crate::db::Store;
use crate::events::PlanEvents;
use crate::flags::cache::FlagCache;
use crate::plans::file::definition::{self, PlanDef};
use crate::plans::file::templates::TEMPLATES;
use crate::plans::pages::Stamp;
use crate::plans::rules::weakening::weakening;
use crate::plans::store::materialize::{edit_refusal, insert_plan};
use crate::plans::store::{self, Loaded};
use crate::plans::view::summary_of;

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
                "flag_serves": def.flag.describe(),
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
    async fn waiting(&self, caller: &Caller) -> Result<app::dto::live::Inbox, AppError> {
        Ok(self.waiting_for(caller).await?)
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
