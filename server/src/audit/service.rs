//! The audit review port: pages, single events, and chain verification with
//! the newest report kept for the page's badge.
use std::sync::{Arc, RwLock};

use app::access::Action;
use app::dto::audit::{AuditEvent, AuditPage, AuditQuery, ChainReport};
use app::error::AppError;
use app::service::{AuditPort, Caller};
use tokio::sync::Mutex;

use super::query::{self, AuditFilter, TextMatch, PAGE_SIZE};
use super::verify;
use crate::db::{Store, StoreError};

#[derive(Clone)]
pub struct AuditService {
    store: Store,
    /// The newest report, read by every audit page without waiting.
    last: Arc<RwLock<Option<ChainReport>>>,
    /// Held while a walk runs, so two never run at once.
    walking: Arc<Mutex<()>>,
    /// The newest events of some actions (the dashboard's incidents), kept
    /// while the trail has not grown.
    newest: Arc<std::sync::Mutex<Option<Newest>>>,
}

/// What `newest_of` read: the trail's head then, what was asked, the events.
struct Newest {
    head: i64,
    asked: (Vec<String>, i64),
    events: Arc<Vec<AuditEvent>>,
}

impl AuditService {
    pub fn new(store: Store) -> Self {
        AuditService {
            store,
            last: Arc::new(RwLock::new(None)),
            walking: Arc::new(Mutex::new(())),
            newest: Arc::default(),
        }
    }

    fn latest(&self) -> Option<ChainReport> {
        self.last.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Walks the chain and keeps the report.
    pub async fn verify(&self) -> Result<ChainReport, StoreError> {
        let _walking = self.walking.lock().await;
        let report = verify::verify(&self.store).await?;
        if let app::dto::audit::ChainStatus::Broken { seq, reason } = &report.status {
            tracing::error!(seq, reason, "audit chain verification failed");
        }
        *self.last.write().unwrap_or_else(|e| e.into_inner()) = Some(report.clone());
        Ok(report)
    }

    /// The newest report; the first caller before any walk waits for one.
    /// When events were appended since and the last walk fit the page's
    /// budget, the chain is walked again first, however recent the last
    /// walk: the badge covers every event the page shows.
    async fn report(&self) -> Result<ChainReport, StoreError> {
        if let Some(report) = self.latest() {
            let behind = match report.status {
                app::dto::audit::ChainStatus::Intact { through_seq } => {
                    query::head_seq(&self.store).await? > through_seq
                }
                app::dto::audit::ChainStatus::Broken { .. } => false,
            };
            if behind && report.duration_ms <= OPEN_BUDGET_MS {
                let walking = self.walking.lock().await;
                // Another request may have walked while this one waited.
                if let Some(newer) = self
                    .latest()
                    .filter(|r| r.checked_at_ms > report.checked_at_ms)
                {
                    return Ok(newer);
                }
                drop(walking);
                return self.verify().await;
            }
            return Ok(report);
        }
        let _walking = self.walking.lock().await;
        if let Some(report) = self.latest() {
            return Ok(report);
        }
        drop(_walking);
        self.verify().await
    }
}

/// A report this recent answers "Verify now" instead of walking again.
const FRESH_MS: i64 = 5_000;
/// A walk that took at most this long is redone when the audit page opens
/// on a trail that has grown since.
const OPEN_BUDGET_MS: i64 = 1_000;

#[async_trait::async_trait]
impl AuditPort for AuditService {
    async fn page(&self, caller: &Caller, q: AuditQuery) -> Result<AuditPage, AppError> {
        caller.require(Action::ReadAudit)?;
        let filter = AuditFilter::parse(&q).map_err(AppError::Invalid)?;
        let (events, next_before) =
            query::newest_first(&self.store, &filter, q.before, PAGE_SIZE).await?;
        Ok(AuditPage {
            events,
            next_before,
            subject_names: Vec::new(),
            subject: None,
        })
    }

    async fn newest_of(
        &self,
        caller: &Caller,
        actions: &[&str],
        limit: i64,
    ) -> Result<Vec<AuditEvent>, AppError> {
        caller.require(Action::ReadAudit)?;
        let asked = (
            actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            limit.clamp(1, PAGE_SIZE),
        );
        let head = query::head_seq(&self.store).await?;
        let kept = |n: &Option<Newest>| {
            n.as_ref()
                .filter(|n| n.head == head && n.asked == asked)
                .map(|n| n.events.clone())
        };
        if let Some(events) = kept(&self.newest.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok((*events).clone());
        }
        let matches: Vec<_> = actions.iter().filter_map(|a| TextMatch::parse(a)).collect();
        let events = Arc::new(query::newest_of_actions(&self.store, &matches, asked.1).await?);
        *self.newest.lock().unwrap_or_else(|e| e.into_inner()) = Some(Newest {
            head,
            asked,
            events: events.clone(),
        });
        Ok((*events).clone())
    }

    async fn event(&self, caller: &Caller, seq: i64) -> Result<AuditEvent, AppError> {
        caller.require(Action::ReadAudit)?;
        query::one(&self.store, seq)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("audit event #{seq}")))
    }

    async fn chain_report(&self, caller: &Caller) -> Result<ChainReport, AppError> {
        caller.require(Action::ReadAudit)?;
        self.report().await.map_err(AppError::from)
    }

    async fn verify_now(&self, caller: &Caller) -> Result<ChainReport, AppError> {
        caller.require(Action::ReadAudit)?;
        // A walk of a large trail costs seconds of CPU: anyone may ask, but
        // asking again within a few seconds gets the walk that just ran.
        if let Some(report) = self.latest() {
            if crate::system::now_ms() - report.checked_at_ms < FRESH_MS {
                return Ok(report);
            }
        }
        self.verify().await.map_err(AppError::from)
    }
}
