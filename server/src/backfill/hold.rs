//! Waiting before a chunk: while the job's window is closed (unless an
//! operator overrode it with a reason) or its target's health is past the
//! job's throttle. The run stays `running` and says in its result what it
//! waits for and until when; waiting and going on again are audited once
//! each (`backfill.wait`, `backfill.proceed`), not at every check. A pause
//! or cancel is obeyed while waiting. Undo never waits: a rollback is not
//! held back by load or the clock.
use std::time::{Duration, Instant};

use serde_json::json;

use super::error::BackfillError;
use super::health::throttled;
use super::runner::{Outcome, Runner};
use super::runs::{self, RunStatus};
use crate::audit;

/// How often a waiting run looks again (and the least time between two
/// health readings of a run that is not waiting).
const LOOK_AGAIN: Duration = Duration::from_secs(1);
const HEARTBEAT: Duration = Duration::from_secs(10);

/// What a run waits for: why, and until when if that is known.
struct Wait {
    why: String,
    until_ms: Option<i64>,
    kind: &'static str,
}

impl Runner {
    /// Returns once the run may apply its next chunk (`None`), or how it
    /// ended while it waited.
    pub(super) async fn hold(&mut self) -> Result<Option<Outcome>, BackfillError> {
        let mut since: Option<(i64, &'static str)> = None;
        let mut beat = Instant::now();
        loop {
            let wait = self.wait().await?;
            match (&wait, since) {
                (None, None) => return Ok(None),
                (None, Some((from, kind))) => {
                    self.note(
                        "backfill.proceed",
                        json!({ "waited": kind, "waited_ms": self.clock.now_ms() - from }),
                    )
                    .await?;
                    runs::set_waiting(&self.store, &self.run.id, &json!({})).await?;
                    self.run.result = json!({});
                    return Ok(None);
                }
                (Some(w), _) => {
                    let shown = json!({ "waiting": w.why, "until_ms": w.until_ms, "kind": w.kind });
                    // Also a heartbeat: a run whose row goes quiet for
                    // `runs::STALE_MS` looks driverless.
                    if self.run.result != shown || beat.elapsed() >= HEARTBEAT {
                        runs::set_waiting(&self.store, &self.run.id, &shown).await?;
                        self.run.result = shown;
                        beat = Instant::now();
                    }
                    if since.is_none_or(|(_, kind)| kind != w.kind) {
                        self.note("backfill.wait", json!({ "kind": w.kind, "reason": w.why }))
                            .await?;
                        since = Some((self.clock.now_ms(), w.kind));
                    }
                }
            }
            if let Some(outcome) = self.steered().await? {
                return Ok(Some(outcome));
            }
            tokio::select! {
                _ = tokio::time::sleep(LOOK_AGAIN) => {}
                _ = self.clock.moved() => {}
            }
        }
    }

    /// A chunk was blocked by a lock held elsewhere: says so, waits a
    /// moment (obeying a pause or cancel), and lets the chunk be tried
    /// again. Audited once until a chunk goes through (`unblocked`).
    pub(super) async fn blocked(&mut self, why: String) -> Result<Option<Outcome>, BackfillError> {
        let shown = json!({ "waiting": why, "until_ms": null, "kind": "lock" });
        runs::set_waiting(&self.store, &self.run.id, &shown).await?;
        self.run.result = shown;
        if self.locked_since.is_none() {
            self.note("backfill.wait", json!({ "kind": "lock", "reason": why }))
                .await?;
            self.locked_since = Some(self.clock.now_ms());
        }
        if let Some(outcome) = self.steered().await? {
            return Ok(Some(outcome));
        }
        tokio::time::sleep(LOOK_AGAIN).await;
        self.health_read_at = None;
        self.hold().await
    }

    /// A chunk went through after `blocked`.
    pub(super) async fn unblocked(&mut self) -> Result<(), BackfillError> {
        if let Some(from) = self.locked_since.take() {
            self.note(
                "backfill.proceed",
                json!({ "waited": "lock", "waited_ms": self.clock.now_ms() - from }),
            )
            .await?;
            runs::set_waiting(&self.store, &self.run.id, &json!({})).await?;
            self.run.result = json!({});
        }
        Ok(())
    }

    /// Why the run may not apply now.
    async fn wait(&mut self) -> Result<Option<Wait>, BackfillError> {
        if let Some(window) = &self.job.window {
            if let Some((why, until)) = window.closed(self.clock.now_ms()) {
                if runs::window_override(&self.store, &self.run.id)
                    .await?
                    .is_none()
                {
                    return Ok(Some(Wait {
                        why,
                        until_ms: Some(until),
                        kind: "window",
                    }));
                }
            }
        }
        if self.job.throttle.is_empty()
            || self
                .health_read_at
                .is_some_and(|at| at.elapsed() < LOOK_AGAIN)
        {
            return Ok(None);
        }
        let why = throttled(&self.health, &self.target, &self.job.throttle).await;
        self.health_read_at = Some(Instant::now());
        if why.is_some() {
            // Read again at the next look, not a second later.
            self.health_read_at = None;
        }
        Ok(why.map(|why| Wait {
            why,
            until_ms: None,
            kind: "throttle",
        }))
    }

    /// A pause or cancel asked for (before each chunk, and while the run
    /// waits), or a pause from elsewhere: how the run ended, if it did.
    pub(super) async fn steered(&mut self) -> Result<Option<Outcome>, BackfillError> {
        match self.control.state() {
            1 => {
                self.finish(RunStatus::Paused, json!({ "reason": "paused by request" }))
                    .await?;
                Ok(Some(Outcome::Paused("paused by request".into())))
            }
            2 => {
                self.finish(RunStatus::Cancelled, json!({})).await?;
                Ok(Some(Outcome::Cancelled))
            }
            _ if runs::status(&self.store, &self.run.id).await? == RunStatus::Paused => {
                self.run.status = RunStatus::Paused;
                Ok(Some(Outcome::Paused(
                    "paused by an emergency rollback".into(),
                )))
            }
            _ => Ok(None),
        }
    }

    async fn note(
        &self,
        action: &str,
        mut details: serde_json::Value,
    ) -> Result<(), BackfillError> {
        details["job"] = json!(self.job.name);
        details["run"] = json!(self.run.id);
        details["mode"] = json!(self.run.mode.as_str());
        let mut tx = self.store.begin_write().await?;
        // The console decided, not whoever started the run.
        audit::append(
            &mut tx,
            crate::system::now_ms(),
            &audit::Actor::System,
            &audit::ClientInfo::default(),
            action,
            &format!("plan:{}", self.run.plan_id),
            details,
        )
        .await?;
        tx.commit().await.map_err(crate::db::StoreError::Query)?;
        Ok(())
    }
}
