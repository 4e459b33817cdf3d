//! The service ports the server functions call. `server` implements them and
//! provides them through Leptos context, so `app` never touches storage. Every
//! method takes the [`Caller`] and authorizes it itself: hiding a button is
//! never the only thing that stops an action.
use std::sync::Arc;

use crate::access::{Action, Principal, Role, Scope};
use crate::dto::audit::{AuditEvent, AuditPage, AuditQuery, ChainReport};
use crate::dto::backfill::{JobView, RunView, StartRun};
use crate::dto::identity::{CreatedToken, CurrentUser, TokenSummary, UserSummary};
use crate::dto::notify::DeliveryLog;
use crate::dto::plans::{
    CommandOutcome, NewPlan, PlanCommand, PlanSource, PlanSummary, PlanView, TemplateInfo,
};
use crate::dto::SystemFacts;
use crate::error::AppError;

/// Who made this request and from where. The server's auth middleware puts it
/// in the request's extensions; server functions read it from there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub client_addr: String,
    pub user_agent: String,
}

impl Caller {
    /// The principal if it may do `action`; otherwise why not.
    pub fn require(&self, action: Action) -> Result<&Principal, AppError> {
        match &self.principal {
            None => Err(AppError::Unauthenticated),
            Some(p) if p.allows(action) => Ok(p),
            Some(_) => Err(AppError::Forbidden(action.describe().to_string())),
        }
    }
}

#[async_trait::async_trait]
pub trait SystemPort: Send + Sync + 'static {
    async fn system_facts(&self, caller: &Caller) -> Result<SystemFacts, AppError>;
}

#[async_trait::async_trait]
pub trait AuditPort: Send + Sync + 'static {
    async fn page(&self, caller: &Caller, query: AuditQuery) -> Result<AuditPage, AppError>;
    async fn event(&self, caller: &Caller, seq: i64) -> Result<AuditEvent, AppError>;
    /// The newest `limit` events whose action is any of `actions` (each as
    /// the review filter writes it, `plan.rollback.*` for a prefix), newest
    /// first.
    async fn newest_of(
        &self,
        caller: &Caller,
        actions: &[&str],
        limit: i64,
    ) -> Result<Vec<AuditEvent>, AppError>;
    /// The newest verification (running one if none ran yet).
    async fn chain_report(&self, caller: &Caller) -> Result<ChainReport, AppError>;
    /// Walks the whole chain now.
    async fn verify_now(&self, caller: &Caller) -> Result<ChainReport, AppError>;
}

/// Notifications: the delivery log, and sending a given-up delivery again.
#[async_trait::async_trait]
pub trait NotifyPort: Send + Sync + 'static {
    async fn deliveries(&self, caller: &Caller) -> Result<DeliveryLog, AppError>;
    /// Tries a failed (given-up) delivery again from now; audited.
    async fn retry(&self, caller: &Caller, endpoint: &str, seq: i64) -> Result<(), AppError>;
}

#[async_trait::async_trait]
pub trait IdentityPort: Send + Sync + 'static {
    async fn current_user(&self, caller: &Caller) -> Result<Option<CurrentUser>, AppError>;
    async fn users(&self, caller: &Caller) -> Result<Vec<UserSummary>, AppError>;
    async fn create_user(
        &self,
        caller: &Caller,
        username: String,
        password: String,
        roles: Vec<Role>,
    ) -> Result<UserSummary, AppError>;
    async fn set_disabled(
        &self,
        caller: &Caller,
        username: String,
        disabled: bool,
    ) -> Result<UserSummary, AppError>;
    async fn tokens(&self, caller: &Caller) -> Result<Vec<TokenSummary>, AppError>;
    /// The caller's own passkeys (a person's; none for a token).
    async fn passkeys(
        &self,
        caller: &Caller,
    ) -> Result<Vec<crate::dto::identity::PasskeySummary>, AppError>;
    /// `environment`: the one a token with `flags:read` evaluates in.
    async fn create_token(
        &self,
        caller: &Caller,
        name: String,
        scopes: Vec<Scope>,
        environment: Option<String>,
    ) -> Result<CreatedToken, AppError>;
    async fn revoke_token(&self, caller: &Caller, id: String) -> Result<TokenSummary, AppError>;
}

#[async_trait::async_trait]
pub trait PlanPort: Send + Sync + 'static {
    async fn plans(&self, caller: &Caller) -> Result<Vec<PlanSummary>, AppError>;
    async fn plan(&self, caller: &Caller, id: String) -> Result<PlanView, AppError>;
    /// The plan and its timeline over its last `hours` (default: its whole
    /// life), read at one moment: the plan page.
    async fn page(
        &self,
        caller: &Caller,
        id: String,
        hours: Option<i64>,
    ) -> Result<crate::dto::plans::PlanPage, AppError>;
    /// The gates and change requests of every active plan that wait for the
    /// caller's decision (`ApproveGates`; none for anyone else), read in one
    /// pass: the dashboard's "waiting for you".
    async fn waiting(&self, caller: &Caller) -> Result<crate::dto::live::Inbox, AppError>;
    async fn templates(&self, caller: &Caller) -> Result<Vec<TemplateInfo>, AppError>;
    /// A new draft plan from a built-in template, renamed.
    async fn create(&self, caller: &Caller, new: NewPlan) -> Result<PlanSummary, AppError>;
    /// A new draft plan from a TOML plan file.
    async fn import(&self, caller: &Caller, source: String) -> Result<PlanSummary, AppError>;
    /// The plan file exactly as imported or last saved.
    async fn source(&self, caller: &Caller, id: String) -> Result<PlanSource, AppError>;
    /// Replaces the definition; `revision` is the one the editor started from.
    async fn save_source(
        &self,
        caller: &Caller,
        id: String,
        source: String,
        revision: i64,
    ) -> Result<PlanSummary, AppError>;
    async fn command(
        &self,
        caller: &Caller,
        id: String,
        command: PlanCommand,
    ) -> Result<CommandOutcome, AppError>;
    /// The plan's timeline over its last `hours` (default: its whole life).
    async fn timeline(
        &self,
        caller: &Caller,
        id: String,
        hours: Option<i64>,
    ) -> Result<crate::dto::plans::TimelineView, AppError>;
}

#[async_trait::async_trait]
pub trait BackfillPort: Send + Sync + 'static {
    async fn job(&self, caller: &Caller, plan_id: String, job: String)
        -> Result<JobView, AppError>;
    /// `mode`: run (default), dry_run, undo or verify. A run or dry-run
    /// resumes the job's unfinished one.
    async fn start(
        &self,
        caller: &Caller,
        plan_id: String,
        job: String,
        request: StartRun,
    ) -> Result<RunView, AppError>;
    /// The plan's runs, newest first.
    async fn runs(&self, caller: &Caller, plan_id: String) -> Result<Vec<RunView>, AppError>;
    /// Every plan's runs that are not finished (running or paused), newest
    /// first, in one read (the dashboard's).
    async fn unfinished_runs(&self, caller: &Caller) -> Result<Vec<RunView>, AppError>;
    async fn pause(&self, caller: &Caller, run_id: String) -> Result<(), AppError>;
    async fn cancel(&self, caller: &Caller, run_id: String) -> Result<(), AppError>;
    /// Lets a running run that waits outside its job's window go on; the
    /// reason is audited.
    async fn override_window(
        &self,
        caller: &Caller,
        run_id: String,
        reason: String,
    ) -> Result<(), AppError>;
    /// A new chunk size (then fixed) and/or rows/s ceiling (0 = none) for a
    /// running run, from its next chunk on.
    async fn retune(
        &self,
        caller: &Caller,
        run_id: String,
        chunk: Option<i64>,
        max_rows_per_sec: Option<i64>,
    ) -> Result<(), AppError>;
    /// Connects to the job's target and reports its server version.
    async fn test_target(
        &self,
        caller: &Caller,
        plan_id: String,
        job: String,
    ) -> Result<String, AppError>;
}

/// Everything the server provides to the UI, as one context value.
#[derive(Clone)]
pub struct Services {
    pub system: Arc<dyn SystemPort>,
    pub audit: Arc<dyn AuditPort>,
    pub identity: Arc<dyn IdentityPort>,
    pub plans: Arc<dyn PlanPort>,
    pub backfill: Arc<dyn BackfillPort>,
    pub notify: Arc<dyn NotifyPort>,
}

/// The services and the caller of the current request. `Internal` when the
/// server forgot to provide either (a wiring bug, logged here).
pub fn request_context() -> Result<(Services, Caller), AppError> {
    use leptos::prelude::use_context;
    let services = use_context::<Services>();
    let caller = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>().cloned());
    match (services, caller) {
        (Some(s), Some(c)) => Ok((s, c)),
        _ => {
            leptos::logging::error!("server function without Services or Caller in context");
            Err(AppError::Internal)
        }
    }
}

/// Runs `f` with the request's services and caller, and answers what it
/// returns (see [`answer`]): the whole body of most server functions.
pub async fn serve<T>(
    f: impl AsyncFnOnce(Services, Caller) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (services, caller) = answer(request_context())?;
    answer(f(services, caller).await)
}

/// Passes `result` through, first setting the HTTP status of the response
/// (the page being rendered, or the server function's answer) to what the
/// error means: 401, 403, 404, 400 or 500 (except to a plain form post, see
/// [`plain_form_post`]).
pub fn answer<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let Some(resp) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if !plain_form_post() {
                resp.set_status(e.status());
            }
        }
    }
    result
}

/// A form posted without JavaScript: Leptos answers it with a redirect back
/// to the page (the error travels in the URL and the page shows it), which
/// an error status would replace with a bare error body.
fn plain_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.method == http::Method::POST
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    })
}
