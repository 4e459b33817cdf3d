//! A backfill job of a plan: its newest run's counters (processed of the
//! estimate, created, skipped, errors, rate, ETA), the progress chart, the
//! failing keys, earlier runs, and the buttons (dry-run, run or resume,
//! pause, verify, undo, test the target). Updates live over the plan's SSE.
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::access::Action;
use crate::api::backfill::{
    load_job, CancelBackfill, PauseBackfill, RetuneBackfill, StartBackfill, TestBackfillTarget,
};
use crate::dto::backfill::{JobView, RunMode, RunStatus};
use crate::format::grouped;
use crate::pages::job_confirm::Confirm;
use crate::pages::local_time::LocalTime;
use crate::pages::plan::live_updates;

#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let plan_id = move || params.read().get("id").unwrap_or_default();
    let job = move || params.read().get("job").unwrap_or_default();
    let start = ServerAction::<StartBackfill>::new();
    let pause = ServerAction::<PauseBackfill>::new();
    let test = ServerAction::<TestBackfillTarget>::new();
    let steer = Steer {
        pause,
        cancel: ServerAction::<CancelBackfill>::new(),
        retune: ServerAction::<RetuneBackfill>::new(),
    };
    let refresh = RwSignal::new(0u64);
    let view_res = Resource::new(
        move || {
            (
                plan_id(),
                job(),
                refresh.get(),
                start.version().get(),
                pause.version().get() + steer.cancel.version().get() + steer.retune.version().get(),
            )
        },
        |(p, j, _, _, _)| load_job(p, j),
    );
    live_updates(Signal::derive(plan_id), refresh);
    let can_write = crate::may(Action::WritePlans);
    let ui = JobUi::default();
    // A start that went through closes its confirmation and forgets its reason.
    Effect::new(move |_| {
        if let Some(Ok(_)) = start.value().get() {
            ui.run_open.set(false);
            ui.undo_open.set(false);
            ui.run_reason.set(String::new());
        }
    });
    view! {
        <Title text="Backfill job" />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || view_res.get().map(|r| match r {
                Err(e) => view! { <section class="card"><p class="error" id="job-error">{e.to_string()}</p></section> }.into_any(),
                Ok(v) => job_body(v, can_write(), (start, steer, test), ui),
            })}
        </Transition>
    }
}

/// What the person chose and typed on the job page: it outlives the body's
/// re-render on every update of the run (and on an error).
#[derive(Clone, Copy, Default)]
pub(crate) struct JobUi {
    /// Empty until chosen: the job's default environment.
    pub environment: RwSignal<String>,
    pub override_reason: RwSignal<String>,
    pub run_open: RwSignal<bool>,
    pub undo_open: RwSignal<bool>,
    pub run_reason: RwSignal<String>,
}

/// What the job's actions answered, next to them.
fn outcome(
    start: ServerAction<StartBackfill>,
    steer: Steer,
    test: ServerAction<TestBackfillTarget>,
) -> impl IntoView {
    let pause = steer.pause;
    view! {
        <div id="job-outcome" aria-live="polite">
            {move || start.value().get().map(|r| match r {
                Ok(run) => view! { <p class="ok">{format!("Started the {} ({}…) for {}.", run.mode.word(), run.id.chars().take(8).collect::<String>(), run.environment)}</p> }.into_any(),
                Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
            })}
            {move || pause.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error">{e.to_string()}</p> })}
            {move || steer.cancel.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error">{e.to_string()}</p> })}
            {move || steer.retune.value().get().map(|r| match r {
                Ok(()) => view! { <p class="ok" id="retune-result">"Retuned: takes effect from the next chunk."</p> }.into_any(),
                Err(e) => view! { <p class="error" id="retune-result">{e.to_string()}</p> }.into_any(),
            })}
            {move || test.value().get().map(|r| match r {
                Ok(v) => view! { <p class="ok" id="target-test">{v}</p> }.into_any(),
                Err(e) => view! { <p class="error" id="target-test">{e.to_string()}</p> }.into_any(),
            })}
        </div>
    }
}

/// The newest run's rate while it runs; once it ended, its average.
fn rate_text(rate: f64, latest: Option<&crate::dto::backfill::RunView>) -> String {
    match latest {
        Some(r) if r.mode == RunMode::Verify => {
            "— (a verify counts, it does not process keys)".to_string()
        }
        Some(r) if r.status != RunStatus::Running => {
            let end = r.finished_at_ms.unwrap_or(r.updated_at_ms);
            let secs = (end - r.started_at_ms) as f64 / 1000.0;
            if secs > 0.0 && r.processed > 0 {
                format!(
                    "{:.0} keys/s (average of the last run)",
                    r.processed as f64 / secs
                )
            } else {
                "—".to_string()
            }
        }
        _ => format!("{rate:.0} keys/s"),
    }
}

fn fmt_eta(secs: Option<f64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 90.0 => format!("{s:.0} s"),
        Some(s) => format!("{:.0} min", s / 60.0),
    }
}

/// The actions that steer a running run.
#[derive(Clone, Copy)]
struct Steer {
    pause: ServerAction<PauseBackfill>,
    cancel: ServerAction<CancelBackfill>,
    retune: ServerAction<RetuneBackfill>,
}

fn job_body(
    v: JobView,
    can_write: bool,
    (start, steer, test): (
        ServerAction<StartBackfill>,
        Steer,
        ServerAction<TestBackfillTarget>,
    ),
    ui: JobUi,
) -> AnyView {
    let latest = v.runs.first().cloned();
    let rules = if v.verify_only {
        "Verify-only: counts and compares, changes nothing.".to_string()
    } else {
        let phases = if v.phases.is_empty() {
            "in any phase".to_string()
        } else {
            format!("only in phase {}", v.phases.join(", "))
        };
        let dry = if v.require_dry_run {
            ", after a clean dry-run on the same target"
        } else {
            ""
        };
        format!("Runs live {phases}{dry}.")
    };
    let running = latest
        .as_ref()
        .is_some_and(|r| r.status == RunStatus::Running);
    let dry = latest.as_ref().is_some_and(|r| r.mode == RunMode::DryRun);
    let status = latest.as_ref().map_or("never run".to_string(), |r| {
        format!("{} ({})", r.status, r.mode.short())
    });
    let processed = latest.as_ref().map_or(0, |r| r.processed);
    let share = latest
        .as_ref()
        .and_then(|r| {
            r.total_estimate.filter(|t| *t > 0).map(|t| {
                format!(
                    "{} of {} ({:.1} %)",
                    grouped(processed),
                    grouped(t),
                    processed as f64 * 100.0 / t as f64
                )
            })
        })
        .unwrap_or_else(|| grouped(processed));
    let verified = latest
        .as_ref()
        .filter(|r| r.mode == RunMode::Verify && r.status == RunStatus::Done)
        .map(|r| verify_result(&r.result));
    let reason = latest.as_ref().and_then(|r| {
        r.result
            .get("reason")
            .and_then(|x| x.as_str())
            .map(str::to_string)
    });
    // Which environment a start is for, and why a live run goes ahead
    // although the plan objects: shared by every start button.
    if ui.environment.get_untracked().is_empty() {
        ui.environment.set(v.environment.clone());
    }
    let (environment, override_reason) = (ui.environment, ui.override_reason);
    let (plan_id, job) = (v.plan_id.clone(), v.job.clone());
    let pending = start.pending();
    let start_form = move |mode: &'static str, label: &'static str, class: &'static str| {
        let (p, j) = (plan_id.clone(), job.clone());
        view! {
            <ActionForm action=start attr:class="inline">
                <fieldset class="bare" disabled=move || pending.get()>
                    <input type="hidden" name="plan_id" value=p />
                    <input type="hidden" name="job" value=j />
                    <input type="hidden" name="mode" value=mode />
                    <input type="hidden" name="environment" prop:value=move || environment.get() />
                    <input type="hidden" name="override_reason" prop:value=move || override_reason.get() />
                    <button type="submit" class=class data-mode=mode>{label}</button>
                </fieldset>
            </ActionForm>
        }
    };
    let confirm = Confirm {
        plan_id: v.plan_id.clone(),
        job: v.job.clone(),
        runs: v.runs.clone(),
        targets: v.targets.clone(),
        require_dry_run: v.require_dry_run,
        ui,
        start,
    };
    let targets = v.targets.clone();
    let default_env = environment.get_untracked();
    let where_to = view! {
        <div class="job-where">
            <label>
                "For environment "
                <select id="run-environment" on:change=move |ev| environment.set(event_target_value(&ev))>
                    {targets.into_iter().map(|t| {
                        let selected = t.environment == default_env;
                        let label = format!("{} (target {})", t.environment, t.target);
                        view! { <option value=t.environment.clone() selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            {(!v.verify_only).then(|| view! {
                <label>
                    "Override reason (a live run the plan objects to) "
                    <input id="override-reason" maxlength="500" size="40" prop:value=move || override_reason.get()
                        on:input=move |ev| override_reason.set(event_target_value(&ev)) />
                </label>
            })}
        </div>
    };
    let buttons = can_write.then(|| {
        let resume = latest
            .as_ref()
            .is_some_and(|r| r.status == RunStatus::Paused && r.mode == RunMode::Run);
        let paused = latest.as_ref().filter(|r| r.status == RunStatus::Paused).map(|r| {
            let id = r.id.clone();
            view! {
                <ActionForm action=steer.cancel attr:class="inline">
                    <input type="hidden" name="run_id" value=id />
                    <button type="submit" class="secondary" id="cancel-run">"Cancel the paused run"</button>
                </ActionForm>
            }
        });
        let pause_form = latest.as_ref().filter(|_| running).map(|r| {
            let (a, b, c) = (r.id.clone(), r.id.clone(), r.id.clone());
            let (chunk, rate) = (r.chunk_size.to_string(), r.max_rows_per_sec.to_string());
            view! {
                <ActionForm action=steer.pause attr:class="inline">
                    <input type="hidden" name="run_id" value=a />
                    <button type="submit" class="secondary" id="pause-run">"Pause"</button>
                </ActionForm>
                <ActionForm action=steer.cancel attr:class="inline">
                    <input type="hidden" name="run_id" value=b />
                    <button type="submit" class="secondary" id="cancel-run">"Cancel"</button>
                </ActionForm>
                <ActionForm action=steer.retune attr:class="inline retune" attr:id="retune">
                    <label>"Chunk size " <input name="chunk" size="6" placeholder=chunk inputmode="numeric" /></label>
                    <label>"Rows/s ceiling (0 = none) " <input name="max_rows_per_sec" size="8" placeholder=rate inputmode="numeric" /></label>
                    <input type="hidden" name="run_id" value=c />
                    <button type="submit" class="secondary">"Retune"</button>
                </ActionForm>
            }
        });
        let (p, j) = (v.plan_id.clone(), v.job.clone());
        view! {
            {where_to}
            <div class="job-actions">
                {(!v.verify_only).then(|| start_form("dry_run", "Dry-run", "secondary"))}
                {(!v.verify_only).then(|| confirm.clone().live_run(resume))}
                {pause_form}
                {paused}
                {v.has_verify.then(|| start_form("verify", "Verify", "secondary"))}
                {v.has_undo.then(|| confirm.clone().undo())}
                <ActionForm action=test attr:class="inline">
                    <input type="hidden" name="plan_id" value=p />
                    <input type="hidden" name="job" value=j />
                    <button type="submit" class="secondary">"Test the target"</button>
                </ActionForm>
            </div>
        }
    });
    let runs = v
        .runs
        .iter()
        .map(|r| {
            view! {
                <tr data-run=r.id.clone() data-status=r.status.as_str()>
                    <td class="nowrap"><LocalTime ms=r.started_at_ms /></td>
                    <td>{r.mode.short()}</td>
                    <td class="nowrap">{if r.environment.is_empty() { "—".to_string() } else { format!("{} · {}", r.environment, r.target) }}</td>
                    <td>{r.status.as_str()}</td>
                    <td>{grouped(r.processed)}</td>
                    <td>{grouped(r.created)}</td>
                    <td>{grouped(r.errors)}</td>
                    <td>{r.last_key.map_or("—".into(), |k| k.to_string())}</td>
                    <td>{r.started_by.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let errors = v
        .errors
        .iter()
        .map(|e| view! { <tr data-key=e.key.to_string()><td>{e.key}</td><td class="wrap">{e.error.clone()}</td></tr> })
        .collect_view();
    view! {
        <section class="card" id="job" data-status=latest.as_ref().map_or("none".to_string(), |r| r.status.to_string())>
            <div class="card-head">
                <h1>{format!("Backfill {}", v.job)}</h1>
                <a href=format!("/plans/{}", v.plan_id)>{format!("Plan: {}", v.plan_name)}</a>
            </div>
            <p class="muted" id="job-rules">{rules}</p>
            <dl class="facts counters">
                <dt>"Status"</dt><dd id="job-status">{status}</dd>
                {(!v.verify_only).then(|| view! {
                    <dt>"Processed"</dt><dd id="job-processed" data-value=processed.to_string()>{share}</dd>
                    <dt>{if dry { "Would create" } else { "Created" }}</dt><dd id="job-created">{grouped(latest.as_ref().map_or(0, |r| r.created))}</dd>
                    <dt>{if dry { "Would skip" } else { "Skipped" }}</dt><dd id="job-skipped">{grouped(latest.as_ref().map_or(0, |r| r.skipped))}</dd>
                    <dt>"Errors"</dt><dd id="job-errors">{grouped(latest.as_ref().map_or(0, |r| r.errors))}</dd>
                    <dt>"Rate"</dt><dd id="job-rate">{rate_text(v.rate, latest.as_ref())}</dd>
                    <dt>"ETA"</dt><dd id="job-eta">{fmt_eta(v.eta_secs)}</dd>
                    <dt>"Chunk"</dt><dd>{latest.as_ref().map_or(0, |r| r.chunk_size)}</dd>
                })}
            </dl>
            {verified}
            {reason.map(|r| view! { <p class="warn" id="job-reason">{r}</p> })}
            {buttons}
            {outcome(start, steer, test)}
        </section>
        {(!v.verify_only).then(|| {
            // The chart and the failing keys are the newest run's that
            // processed keys (a verify only counts).
            let charted = v.runs.iter().find(|r| r.mode != RunMode::Verify).map(|r| view! {
                <p class="muted" id="job-chart-run">
                    {format!("Run {} ({}, {} · {}), started ", &r.id[..8.min(r.id.len())], r.mode.short(), r.environment, r.target)}
                    <LocalTime ms=r.started_at_ms />
                </p>
            });
            view! {
                <section class="card">
                    <h2>"Progress"</h2>
                    {charted}
                    <div class="chart" id="job-chart" inner_html=v.chart_svg.clone()></div>
                </section>
            }
        })}
        <section class="card">
            <h2>"Failing keys"</h2>
            <table class="events" id="job-failures"><thead><tr><th>"Key"</th><th>"Error"</th></tr></thead><tbody>{errors}</tbody></table>
        </section>
        <section class="card">
            <h2>"Runs"</h2>
            <table class="events" id="job-runs">
                <thead><tr><th>"Started"</th><th>"Mode"</th><th>"For · target"</th><th>"Status"</th><th>"Processed"</th><th>"Created"</th><th>"Errors"</th><th>"Checkpoint"</th><th>"By"</th></tr></thead>
                <tbody>{runs}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// What the newest verify found, in the words of its check.
fn verify_result(result: &serde_json::Value) -> AnyView {
    let num = |k: &str| {
        result[k]
            .as_i64()
            .map_or("—".to_string(), |n| n.to_string())
    };
    let passed = result["passed"] == true;
    let missing = match result["missing"].as_i64() {
        None => "not checked (no verify_missing)".to_string(),
        Some(0) => "none".to_string(),
        Some(n) => {
            let keys: Vec<String> = result["missing_keys"]
                .as_array()
                .map(|k| k.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            format!("{n} (first: {})", keys.join(", "))
        }
    };
    view! {
        <dl class="facts" id="verify-result" data-passed=passed.to_string()>
            <dt>"Verify"</dt>
            <dd class=if passed { "ok" } else { "error" }>{if passed { "passed" } else { "not passed" }}</dd>
            <dt>"Legacy rows"</dt><dd>{num("legacy")}</dd>
            <dt>"New rows"</dt><dd>{num("new")}</dd>
            <dt>"Delta"</dt><dd>{format!("{} (allowed {})", num("delta"), num("max_delta"))}</dd>
            <dt>"Missing"</dt><dd>{missing}</dd>
        </dl>
    }
    .into_any()
}
