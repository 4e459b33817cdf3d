//! The audit review port: pages, single events, and chain verification with
//! the newest report kept for the page's badge.
use std::sync::Arc;

use app::access::Action;
use app::dto::audit::{AuditEvent, AuditPage, AuditQuery, ChainReport};
use app::error::AppError;
use app::service::{AuditPort, Caller};
use tokio::sync::Mutex;

use super::query::{self, AuditFilter, PAGE_SIZE};
use super::verify;
use crate::db::{Store, StoreError};

#[derive(Clone)]
pub struct AuditService {
    store: Store,
    /// The newest report; the mutex also keeps two full walks from running at once.
    last: Arc<Mutex<Option<ChainReport>>>,
}

impl AuditService {
    pub fn new(store: Store) -> Self {
        AuditService {
            store,
            last: Arc::new(Mutex::new(None)),
        }
    }

    /// Walks the chain and keeps the report.
    pub async fn verify(&self) -> Result<ChainReport, StoreError> {
        let mut last = self.last.lock().await;
        let report = verify::verify(&self.store).await?;
        if let app::dto::audit::ChainStatus::Broken { seq, reason } = &report.status {
            tracing::error!(seq, reason, "audit chain verification failed");
        }
        *last = Some(report.clone());
        Ok(report)
    }
}

fn internal(e: StoreError) -> AppError {
    tracing::error!(error = %e, "audit store failure");
    AppError::Internal
}

#[async_trait::async_trait]
impl AuditPort for AuditService {
    async fn page(&self, caller: &Caller, q: AuditQuery) -> Result<AuditPage, AppError> {
        caller.require(Action::ReadAudit)?;
        let filter = AuditFilter::parse(&q).map_err(AppError::Invalid)?;
        let (events, next_before) = query::newest_first(&self.store, &filter, q.before, PAGE_SIZE)
            .await
            .map_err(internal)?;
        Ok(AuditPage {
            events,
            next_before,
        })
    }

    async fn event(&self, caller: &Caller, seq: i64) -> Result<AuditEvent, AppError> {
        caller.require(Action::ReadAudit)?;
        query::one(&self.store, seq)
            .await
            .map_err(internal)?
            .ok_or_else(|| AppError::NotFound(format!("audit event #{seq}")))
    }

    async fn chain_report(&self, caller: &Caller) -> Result<ChainReport, AppError> {
        caller.require(Action::ReadAudit)?;
        if let Some(report) = self.last.lock().await.clone() {
            return Ok(report);
        }
        self.verify().await.map_err(internal)
    }

    async fn verify_now(&self, caller: &Caller) -> Result<ChainReport, AppError> {
        caller.require(Action::ReadAudit)?;
        self.verify().await.map_err(internal)
    }
}
