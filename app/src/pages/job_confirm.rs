//! The job page's two forms that change data: a live run and undoing the
//! last one. Each opens to say exactly what it will do (target, environment,
//! rows) and is sent only after a confirming tick; a live run after a
//! dry-run that failed (or with none) warns and needs a reason, which the
//! server also asks for.
use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::backfill::StartBackfill;
use crate::dto::backfill::{EnvTarget, RunMode, RunStatus, RunView};
use crate::format::utc_datetime;
use crate::pages::local_time::WithLocalTimes;

#[derive(Clone)]
pub(crate) struct Confirm {
    pub plan_id: String,
    pub job: String,
    /// Newest first.
    pub runs: Vec<RunView>,
    pub targets: Vec<EnvTarget>,
    pub require_dry_run: bool,
    /// The environment chosen for a start.
    pub environment: String,
}

impl Confirm {
    fn target_for(&self, env: &str) -> String {
        self.targets
            .iter()
            .find(|t| t.environment == env)
            .map_or_else(|| "?".to_string(), |t| t.target.clone())
    }

    /// Why a live run for `env` deserves a second look: its newest dry-run
    /// failed keys or did not finish, or there is none.
    fn dry_run_warning(&self, env: &str) -> Option<String> {
        let newest = self
            .runs
            .iter()
            .find(|r| r.mode == RunMode::DryRun && r.environment == env);
        match newest {
            None if self.require_dry_run => Some(format!("There is no dry-run for {env} yet.")),
            None => None,
            Some(r) if r.errors > 0 => Some(format!(
                "The newest dry-run for {env} failed {} key{} (started {}).",
                r.errors,
                if r.errors == 1 { "" } else { "s" },
                utc_datetime(r.started_at_ms)
            )),
            Some(r) if r.status != RunStatus::Done => Some(format!(
                "The newest dry-run for {env} is {}, not done.",
                r.status
            )),
            Some(_) => None,
        }
    }

    pub fn live_run(&self, resume: bool) -> AnyView {
        let env = &self.environment;
        let warning = self.dry_run_warning(env);
        // The server asks for a reason then (a run that continues was
        // admitted when it started): the form asks exactly then.
        let needs_reason = !resume && self.require_dry_run && warning.is_some();
        let what = format!(
            "A live run writes to target {} for {env}: every key the job selects, chunk by chunk, each chunk committed.",
            self.target_for(env)
        );
        let verb = if resume { "Resume" } else { "Run" };
        let ok = format!("Started the live run for {env}.");
        let (plan_id, job, env) = (self.plan_id.clone(), self.job.clone(), env.clone());
        let warning = warning.map(|w| {
            if needs_reason {
                format!("{w} A live run now needs a reason.")
            } else {
                w
            }
        });
        let reason_label = if needs_reason {
            "Reason (required; goes into the audit trail)"
        } else {
            "Reason (only if the plan objects)"
        };
        let check = format!(" I have checked: live writes for {env}");
        view! {
            <details class="confirm run-confirm">
                <summary role="button" data-mode="run">{format!("{verb}…")}</summary>
                <ActionForm action={ServerAction::<StartBackfill>::new()} attr:class="stack" attr:id="run-form" attr:data-command="" attr:data-ok=ok>
                    <fieldset class="bare">
                        <input type="hidden" name="plan_id" value=plan_id />
                        <input type="hidden" name="job" value=job />
                        <input type="hidden" name="mode" value="run" />
                        <input type="hidden" name="environment" value=env />
                        <p id="run-what"><WithLocalTimes text=what /></p>
                        {warning.map(|w| view! {
                            <p class="warn" id="dry-run-warning"><WithLocalTimes text=w /></p>
                        })}
                        <label>
                            {reason_label}
                            <input name="override_reason" maxlength="500" required=needs_reason />
                        </label>
                        <label class="check">
                            <input type="checkbox" required />
                            {check}
                        </label>
                        <button type="submit" data-mode="run">{format!("{verb} live")}</button>
                    </fieldset>
                </ActionForm>
            </details>
        }
        .into_any()
    }

    pub fn undo(&self) -> AnyView {
        let env = &self.environment;
        // The newest live run for the chosen environment: what undo reverts.
        let live: Vec<&RunView> = self
            .runs
            .iter()
            .filter(|r| r.mode == RunMode::Run && &r.environment == env)
            .collect();
        let rows: i64 = live.iter().map(|r| r.created).sum();
        let (what, button) = match live.first() {
            None => (
                format!("There is no live run for {env} to undo."),
                "Undo the last run".to_string(),
            ),
            Some(r) => (
                format!(
                    "Deletes what the {} live run{} for {env} created on target {} and still holds — up to {rows} row{} (newest: run {}, by {}, {}) — and restores what they changed. Anything reading those rows loses them.",
                    live.len(),
                    if live.len() == 1 { "" } else { "s" },
                    r.target,
                    if rows == 1 { "" } else { "s" },
                    r.id.chars().take(8).collect::<String>(),
                    r.started_by,
                    utc_datetime(r.started_at_ms),
                ),
                format!("Delete up to {rows} rows: undo"),
            ),
        };
        let ok = format!("Started the undo for {env}.");
        let none = live.is_empty();
        let (plan_id, job, env) = (self.plan_id.clone(), self.job.clone(), env.clone());
        view! {
            <details class="confirm undo-confirm danger">
                <summary role="button" data-mode="undo">"Undo the last run…"</summary>
                <ActionForm action={ServerAction::<StartBackfill>::new()} attr:class="stack" attr:id="undo-form" attr:data-command="" attr:data-ok=ok>
                    <fieldset class="bare" disabled=none>
                        <input type="hidden" name="plan_id" value=plan_id />
                        <input type="hidden" name="job" value=job />
                        <input type="hidden" name="mode" value="undo" />
                        <input type="hidden" name="environment" value=env />
                        <p class="warn" id="undo-what"><WithLocalTimes text=what /></p>
                        <label class="check">
                            <input type="checkbox" required />
                            " I understand these rows are deleted"
                        </label>
                        <button type="submit" class="danger" data-mode="undo">{button}</button>
                    </fieldset>
                </ActionForm>
            </details>
        }
        .into_any()
    }
}
