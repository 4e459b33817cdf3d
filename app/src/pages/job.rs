//! A backfill job of a plan: its newest run's counters (processed of the
//! estimate, created, skipped, errors, rate, ETA), the progress chart, the
//! failing keys, earlier runs, and the buttons (dry-run, run or resume,
//! pause, verify, undo, test the target). Rendered on the server; every
//! form works without JavaScript, and in the browser the page redraws
//! itself as the run moves (the plan's SSE; `browser::live`).
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::access::Action;
use crate::api::backfill::{
    load_job, OverrideBackfillWindow, RetuneBackfill, StartBackfill, TestBackfillTarget,
};
use crate::dto::backfill::{JobView, RunMode, RunStatus, RunView};
use crate::format::grouped;
use crate::pages::job_confirm::Confirm;
use crate::pages::local_time::LocalTime;

#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let plan_id = move || params.read().get("id").unwrap_or_default();
    let job = move || params.read().get("job").unwrap_or_default();
    let view_res = Resource::new(move || (plan_id(), job()), |(p, j)| load_job(p, j));
    let can_write = crate::may(Action::WritePlans);
    // Which environment a start is for: the address says (a GET form), else
    // the job's default.
    let chosen = move || query.read().get("environment");
    // Two regions the browser redraws as the run moves (the plan's change
    // feed), with the outcome line between them left alone.
    view! {
        <Title text="Backfill job" />
        <div class="live" id="live-job-head" data-live-region data-live-feed=move || format!("/api/v1/plans/{}/events", plan_id())>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || view_res.get().map(|r| match r {
                    Err(e) => view! { <section class="card"><p class="error" id="job-error">{e.to_string()}</p></section> }.into_any(),
                    Ok(v) => job_card(v, can_write(), chosen()),
                })}
            </Transition>
        </div>
        <div id="job-outcome" aria-live="polite" data-live-outcome></div>
        <div class="live" id="live-job" data-live-region>
            <Transition fallback=|| ()>
                {move || view_res.get().and_then(|r| r.ok()).map(job_details)}
            </Transition>
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

/// The job's card: what it is, the newest run's counters, and the buttons.
fn job_card(v: JobView, can_write: bool, chosen: Option<String>) -> AnyView {
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
    // A running run that waits (its window, its target's health, a lock).
    let waiting = latest
        .as_ref()
        .filter(|r| r.status == RunStatus::Running)
        .and_then(|r| r.result.get("waiting").and_then(|w| w.as_str()))
        .map(|w| view! { <p class="warn" id="job-waiting">{format!("Waiting: {w}")}</p> });
    let reason = latest.as_ref().and_then(|r| {
        r.result
            .get("reason")
            .and_then(|x| x.as_str())
            .map(str::to_string)
    });
    // An environment the job has no target for is not offered.
    let environment = chosen
        .filter(|e| v.targets.iter().any(|t| &t.environment == e))
        .unwrap_or_else(|| v.environment.clone());
    let controls = can_write.then(|| buttons(&v, latest.as_ref(), &environment));
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
            {waiting}
            {reason.map(|r| view! { <p class="warn" id="job-reason">{r}</p> })}
            {controls}
        </section>
    }
    .into_any()
}

/// Where a start goes (a GET form: the choice is in the address), the reason
/// a live run goes ahead although the plan objects (shared by every start
/// button), and the buttons for what can be done now.
fn buttons(v: &JobView, latest: Option<&RunView>, environment: &str) -> impl IntoView {
    let start_form = |mode: RunMode, label: &'static str| {
        let ok = format!("Started the {} for {environment}.", mode.word());
        let (plan_id, job, env) = (v.plan_id.clone(), v.job.clone(), environment.to_string());
        view! {
            <ActionForm action={ServerAction::<StartBackfill>::new()} attr:class="inline" attr:data-command="" attr:data-ok=ok>
                <fieldset class="bare">
                    <input type="hidden" name="plan_id" value=plan_id />
                    <input type="hidden" name="job" value=job />
                    <input type="hidden" name="mode" value=mode.as_str() />
                    <input type="hidden" name="environment" value=env />
                    <input type="hidden" name="override_reason" data-from="override-reason" />
                    <button type="submit" class="secondary" data-mode=mode.as_str()>{label}</button>
                </fieldset>
            </ActionForm>
        }
    };
    let running = latest.filter(|r| r.status == RunStatus::Running);
    let steer = |action: &'static str,
                 run: &RunView,
                 id: &'static str,
                 label: &'static str,
                 ok: &'static str| {
        let url = format!("/api/{action}");
        view! {
            <form method="post" action=url class="inline" data-command="" data-ok=ok>
                <input type="hidden" name="run_id" value=run.id.clone() />
                <button type="submit" class="secondary" id=id>{label}</button>
            </form>
        }
    };
    let pause_form = running.map(|r| {
        let (chunk, rate, run_id) = (r.chunk_size.to_string(), r.max_rows_per_sec.to_string(), r.id.clone());
        view! {
            {steer("backfill_pause", r, "pause-run", "Pause", "Paused: the run stops after its current chunk.")}
            {steer("backfill_cancel", r, "cancel-run", "Cancel", "Cancelled.")}
            <ActionForm action={ServerAction::<RetuneBackfill>::new()} attr:class="inline retune" attr:id="retune"
                attr:data-command="" attr:data-ok="Retuned: takes effect from the next chunk." attr:data-ok-id="retune-result">
                <label>"Chunk size " <input name="chunk" size="6" placeholder=chunk inputmode="numeric" /></label>
                <label>"Rows/s ceiling (0 = none) " <input name="max_rows_per_sec" size="8" placeholder=rate inputmode="numeric" /></label>
                <input type="hidden" name="run_id" value=run_id />
                <button type="submit" class="secondary">"Retune"</button>
            </ActionForm>
        }
    });
    let window_override = running.filter(|r| r.result["kind"] == "window").map(|r| {
        let run_id = r.id.clone();
        view! {
            <ActionForm action={ServerAction::<OverrideBackfillWindow>::new()} attr:class="inline" attr:id="window-override"
                attr:data-command="" attr:data-ok="The run goes on outside its window; the reason is in the audit trail.">
                <input type="hidden" name="run_id" value=run_id />
                <label>"Why run outside the window " <input name="reason" required maxlength="500" size="30" /></label>
                <button type="submit" class="secondary">"Run outside the window"</button>
            </ActionForm>
        }
    });
    let paused = latest.filter(|r| r.status == RunStatus::Paused).map(|r| {
        steer(
            "backfill_cancel",
            r,
            "cancel-run",
            "Cancel the paused run",
            "Cancelled.",
        )
    });
    let resume = latest.is_some_and(|r| r.status == RunStatus::Paused && r.mode == RunMode::Run);
    let confirm = Confirm {
        plan_id: v.plan_id.clone(),
        job: v.job.clone(),
        runs: v.runs.clone(),
        targets: v.targets.clone(),
        require_dry_run: v.require_dry_run,
        environment: environment.to_string(),
    };
    let options = v
        .targets
        .iter()
        .map(|t| {
            let label = format!("{} (target {})", t.environment, t.target);
            view! { <option value=t.environment.clone() selected=t.environment == environment>{label}</option> }
        })
        .collect_view();
    let (test_plan, test_job) = (v.plan_id.clone(), v.job.clone());
    view! {
        <div class="job-where">
            <form method="get" data-live-get>
                <label>"For environment " <select name="environment" id="run-environment">{options}</select></label>
                <noscript><button type="submit" class="secondary">"Choose"</button></noscript>
            </form>
            {(!v.verify_only).then(|| view! {
                <label>
                    "Override reason (a live run the plan objects to) "
                    <input id="override-reason" maxlength="500" size="40" />
                </label>
            })}
        </div>
        <div class="job-actions">
            {(!v.verify_only).then(|| start_form(RunMode::DryRun, "Dry-run"))}
            {(!v.verify_only).then(|| confirm.live_run(resume))}
            {pause_form}
            {window_override}
            {paused}
            {v.has_verify.then(|| start_form(RunMode::Verify, "Verify"))}
            {v.has_undo.then(|| confirm.undo())}
            <ActionForm action={ServerAction::<TestBackfillTarget>::new()} attr:class="inline" attr:data-command="" attr:data-ok-id="target-test">
                <input type="hidden" name="plan_id" value=test_plan />
                <input type="hidden" name="job" value=test_job />
                <button type="submit" class="secondary">"Test the target"</button>
            </ActionForm>
        </div>
    }
}

/// Below the card: the progress chart, the failing keys, every run.
fn job_details(v: JobView) -> impl IntoView {
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
    // Value parity, when the job compares values.
    let v = &result["values"];
    let values = (!v.is_null()).then(|| {
        let n = |k: &str| v[k].as_i64().unwrap_or(0);
        let text = if v["passed"] == true {
            format!("match on {} rows", grouped(n("compared")))
        } else {
            let keys: Vec<String> = v["keys"]
                .as_array()
                .map(|k| k.iter().take(20).map(|v| v.to_string()).collect())
                .unwrap_or_default();
            format!(
                "{} differ, {} missing, {} extra of {} compared (keys: {})",
                n("differ"),
                n("missing"),
                n("extra"),
                grouped(n("compared")),
                keys.join(", ")
            )
        };
        let class = if v["passed"] == true { "ok" } else { "error" };
        view! { <dt>"Values"</dt><dd class=class id="verify-values">{text}</dd> }
    });
    view! {
        <dl class="facts" id="verify-result" data-passed=passed.to_string()>
            <dt>"Verify"</dt>
            <dd class=if passed { "ok" } else { "error" }>{if passed { "passed" } else { "not passed" }}</dd>
            <dt>"Legacy rows"</dt><dd>{num("legacy")}</dd>
            <dt>"New rows"</dt><dd>{num("new")}</dd>
            <dt>"Delta"</dt><dd>{format!("{} (allowed {})", num("delta"), num("max_delta"))}</dd>
            <dt>"Missing"</dt><dd>{missing}</dd>
            {values}
        </dl>
    }
    .into_any()
}
