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
    /// What the person chose and typed (the environment, open forms, the reason).
    pub ui: super::job::JobUi,
    pub start: ServerAction<StartBackfill>,
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

    pub fn live_run(self, resume: bool) -> AnyView {
        let me = StoredValue::new(self.clone());
        let (environment, ui) = (self.ui.environment, self.ui);
        let start = self.start;
        let warning = Memo::new(move |_| me.with_value(|c| c.dry_run_warning(&environment.get())));
        // The server asks for a reason then (a run that continues was
        // admitted when it started): the form asks exactly then.
        let require_dry_run = self.require_dry_run;
        let needs_reason = move || !resume && require_dry_run && warning.get().is_some();
        let what = move || {
            let env = environment.get();
            format!(
                "A live run writes to target {} for {env}: every key the job selects, chunk by chunk, each chunk committed.",
                me.with_value(|c| c.target_for(&env))
            )
        };
        let verb = if resume { "Resume" } else { "Run" };
        view! {
            <details class="confirm run-confirm" prop:open=move || ui.run_open.get()>
                <summary role="button" data-mode="run" on:click=move |ev| { ev.prevent_default(); ui.run_open.update(|o| *o = !*o) }>{format!("{verb}…")}</summary>
                <ActionForm action=start attr:class="stack" attr:id="run-form">
                    <fieldset class="bare" disabled=move || start.pending().get()>
                        <input type="hidden" name="plan_id" value=self.plan_id.clone() />
                        <input type="hidden" name="job" value=self.job.clone() />
                        <input type="hidden" name="mode" value="run" />
                        <input type="hidden" name="environment" prop:value=move || environment.get() />
                        <p id="run-what">{move || view! { <WithLocalTimes text=what()/> }}</p>
                        {move || warning.get().map(|w| view! {
                            <p class="warn" id="dry-run-warning"><WithLocalTimes text=if needs_reason() { format!("{w} A live run now needs a reason.") } else { w }/></p>
                        })}
                        <label>
                            {move || if needs_reason() { "Reason (required; goes into the audit trail)" } else { "Reason (only if the plan objects)" }}
                            <input name="override_reason" maxlength="500" required=needs_reason
                                prop:value=move || ui.run_reason.get()
                                on:input=move |ev| ui.run_reason.set(event_target_value(&ev)) />
                        </label>
                        <label class="check">
                            <input type="checkbox" required />
                            {move || format!(" I have checked: live writes for {}", environment.get())}
                        </label>
                        <button type="submit" data-mode="run">{format!("{verb} live")}</button>
                    </fieldset>
                </ActionForm>
            </details>
        }
        .into_any()
    }

    pub fn undo(self) -> AnyView {
        let me = StoredValue::new(self.clone());
        let (environment, ui) = (self.ui.environment, self.ui);
        let start = self.start;
        // The newest live run for the chosen environment: what undo reverts.
        let last = Memo::new(move |_| {
            let env = environment.get();
            me.with_value(|c| {
                let live: Vec<&RunView> = c
                    .runs
                    .iter()
                    .filter(|r| r.mode == RunMode::Run && r.environment == env)
                    .collect();
                let rows: i64 = live.iter().map(|r| r.created).sum();
                live.first().map(|r| {
                    (
                        rows,
                        r.id.chars().take(8).collect::<String>(),
                        r.target.clone(),
                        r.started_by.clone(),
                        r.started_at_ms,
                        live.len(),
                    )
                })
            })
        });
        let what = move || {
            match last.get() {
            None => format!("There is no live run for {} to undo.", environment.get()),
            Some((rows, id, target, by, at, runs)) => format!(
                "Deletes what the {runs} live run{} for {} created on target {target} and still holds — up to {rows} row{} (newest: run {id}, by {by}, {}) — and restores what they changed. Anything reading those rows loses them.",
                if runs == 1 { "" } else { "s" },
                environment.get(),
                if rows == 1 { "" } else { "s" },
                utc_datetime(at),
            ),
        }
        };
        let button = move || match last.get() {
            Some((rows, ..)) => format!("Delete up to {rows} rows: undo"),
            None => "Undo the last run".to_string(),
        };
        view! {
            <details class="confirm undo-confirm danger" prop:open=move || ui.undo_open.get()>
                <summary role="button" data-mode="undo" on:click=move |ev| { ev.prevent_default(); ui.undo_open.update(|o| *o = !*o) }>"Undo the last run…"</summary>
                <ActionForm action=start attr:class="stack" attr:id="undo-form">
                    <fieldset class="bare" disabled=move || start.pending().get() || last.get().is_none()>
                        <input type="hidden" name="plan_id" value=self.plan_id.clone() />
                        <input type="hidden" name="job" value=self.job.clone() />
                        <input type="hidden" name="mode" value="undo" />
                        <input type="hidden" name="environment" prop:value=move || environment.get() />
                        <p class="warn" id="undo-what">{move || view! { <WithLocalTimes text=what()/> }}</p>
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
