//! The dashboard: what is live right now (active plans and each
//! environment's exposure, backfill jobs under way with their progress, the
//! gates waiting for me, recent rollbacks), then
//! facts about the running console; fetched through server functions so the
//! same numbers appear before and after hydration.
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_system_facts;
use crate::api::live::load_live;
use crate::dto::live::LiveView;
use crate::dto::SystemFacts;
use crate::format::{duration_short, grouped, utc_datetime};
use crate::pages::local_time::LocalTime;

/// How often the hydrated dashboard reads what is live again.
#[cfg(feature = "hydrate")]
const LIVE_EVERY_SECS: u64 = 5;

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <Title text="Dashboard" />
        <LiveDashboard />
    }
}

/// An island: the whole dashboard reads itself again in the browser.
#[island]
fn LiveDashboard() -> impl IntoView {
    // Bumping this re-runs the server function; it only moves once hydrated.
    let refreshes = RwSignal::new(0u32);
    let facts = Resource::new(move || refreshes.get(), |_| get_system_facts());
    // What is live is read again every few seconds once hydrated (running
    // jobs move), and with the facts' Refresh.
    let ticks = RwSignal::new(0u32);
    let live = Resource::new(move || (refreshes.get(), ticks.get()), |_| load_live());
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(
        move || ticks.update(|n| *n += 1),
        std::time::Duration::from_secs(LIVE_EVERY_SECS),
    ) {
        on_cleanup(move || handle.clear());
    }

    view! {
        <Transition fallback=|| view! { <p>"Loading what is live…"</p> }>
            {move || live.get().map(|r| match r {
                Ok(l) => live_cards(l).into_any(),
                Err(e) => view! { <section class="card"><p class="error">{e.to_string()}</p></section> }.into_any(),
            })}
        </Transition>
        <section class="card">
            <div class="card-head">
                <h2>"This console"</h2>
                <button
                    id="refresh-facts"
                    type="button"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    "Refresh"
                </button>
            </div>
            <p class="muted" id="refresh-count" data-refreshes=move || refreshes.get()>
                {move || match refreshes.get() {
                    0 => "Server facts as rendered.".to_string(),
                    1 => "Refreshed 1 time.".to_string(),
                    n => format!("Refreshed {n} times."),
                }}
            </p>
            <Suspense fallback=|| view! { <p>"Loading server facts…"</p> }>
                {move || {
                    facts
                        .get()
                        .map(|result| match result {
                            Ok(f) => view! { <FactsTable facts=f /> }.into_any(),
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

/// Each environment's exposure of a plan, as a list.
fn exposure_list(p: &crate::dto::plans::PlanSummary) -> impl IntoView {
    let items = p
        .exposures
        .iter()
        .map(|e| {
            let shown = e.text();
            view! { <li data-environment=e.environment.clone()>{format!("{} {shown}", e.environment)}</li> }
        })
        .collect_view();
    view! { <ul class="plain exposures">{items}</ul> }
}

/// Completed plans whose flag is still on: the feature is launched, and its
/// kill switch is on its plan's page.
fn launched_table(l: &LiveView) -> Option<impl IntoView> {
    (!l.launched.is_empty()).then(|| {
        let rows = l
            .launched
            .iter()
            .map(|p| view! {
                <tr data-plan=p.id.clone() class="launched">
                    <td><a href=format!("/plans/{}", p.id)>{p.name.clone()}</a></td>
                    <td><code>{p.flag_key.clone()}</code> " " <span class="status">"launched"</span></td>
                    <td>{exposure_list(p)}</td>
                    <td><a href=format!("/plans/{}#rollback", p.id)>"kill switch"</a></td>
                </tr>
            })
            .collect_view();
        view! {
            <h3>"Launched"</h3>
            <table class="events" id="launched-plans">
                <thead><tr><th>"Plan (completed)"</th><th>"Flag"</th><th>"Exposure now"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

fn live_cards(l: LiveView) -> impl IntoView {
    let launched = launched_table(&l);
    let active = if l.active.is_empty() {
        view! { <p class="muted">"No plan is active."</p> }.into_any()
    } else {
        let rows = l
            .active
            .iter()
            .map(|p| {
                view! {
                    <tr data-plan=p.id.clone()>
                        <td><a href=format!("/plans/{}", p.id)>{p.name.clone()}</a></td>
                        <td>{p.current_phase.clone().unwrap_or_else(|| "—".into())}</td>
                        <td>{exposure_list(p)}</td>
                        <td>{format!("{} of {}", p.phases_done, p.phases_total)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="events" id="live-plans">
                <thead><tr><th>"Plan"</th><th>"Running phase"</th><th>"Exposure now"</th><th>"Phases done"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let runs = (!l.runs.is_empty()).then(|| {
        let rows = l
            .runs
            .iter()
            .map(|lr| {
                let r = &lr.run;
                let (progress, max) = match r.total_estimate.filter(|t| *t > 0) {
                    Some(t) => (
                        format!("{} of {} keys", grouped(r.processed), grouped(t)),
                        t,
                    ),
                    None => (format!("{} keys", grouped(r.processed)), r.processed.max(1)),
                };
                view! {
                    <tr data-run=r.id.clone() data-status=r.status.as_str()>
                        <td><a href=format!("/plans/{}/jobs/{}", r.plan_id, r.job)>{format!("{} · {}", lr.plan_name, r.job)}</a></td>
                        <td>{format!("{} ({})", r.status, r.mode.short())}</td>
                        <td>{format!("{} · {}", r.environment, r.target)}</td>
                        <td>
                            <progress max=max.to_string() value=r.processed.min(max).to_string() aria-label=format!("{} progress", r.job)></progress>
                            " " {progress}
                            {(r.errors > 0).then(|| format!(" · {} errors", grouped(r.errors)))}
                        </td>
                        <td>{r.started_by.clone()}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="card" id="live-runs">
                <h2>"Backfill jobs running"</h2>
                <div class="table-scroll"><table class="events">
                    <thead><tr><th>"Job"</th><th>"Status"</th><th>"Where"</th><th>"Progress"</th><th>"Started by"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table></div>
            </section>
        }
        .into_any()
    });
    let waiting = (!l.waiting.is_empty() || !l.waiting_changes.is_empty() || !l.waiting_incidents.is_empty()).then(|| {
        view! {
            <section class="card" id="waiting-for-me">
                <h2>"Waiting for your decision"</h2>
                <ul>{crate::pages::inbox::waiting_items(&l.waiting, &l.waiting_changes, &l.waiting_incidents)}</ul>
            </section>
        }
        .into_any()
    });
    let incidents = (!l.incidents.is_empty()).then(|| {
        let rows = l
            .incidents
            .iter()
            .map(|e| view! {
                <tr data-action=e.action.clone() data-plan=e.plan_id.clone()>
                    <td class="nowrap"><LocalTime ms=e.at_ms/></td>
                    <td><a href=format!("/audit/{}", e.seq)><code>{e.action.clone()}</code></a></td>
                    <td><a href=format!("/plans/{}", e.plan_id)>{e.plan_name.clone()}</a></td>
                    <td>{e.environment.clone()}</td>
                    <td class="why">{e.why.clone()}</td>
                    <td>{e.by.clone()}</td>
                </tr>
            })
            .collect_view();
        view! {
            <section class="card" id="recent-rollbacks">
                <h2>"Recent rollbacks and guardrail actions"</h2>
                <div class="table-scroll"><table class="events">
                    <thead><tr><th>"When"</th><th>"What"</th><th>"Plan"</th><th>"Where"</th><th>"Why"</th><th>"By"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table></div>
            </section>
        }
        .into_any()
    });
    view! {
        <section class="card" id="live">
            <h1>"Live now"</h1>
            {active}
            {launched}
        </section>
        {runs}
        {waiting}
        {incidents}
    }
}

#[component]
fn FactsTable(facts: SystemFacts) -> impl IntoView {
    let migration = if facts.migration.applied_count == 0 {
        "none applied".to_string()
    } else {
        format!(
            "#{} {} ({} of {} applied)",
            facts.migration.applied_version,
            facts.migration.applied_description,
            facts.migration.applied_count,
            facts.migration.known_count
        )
    };
    let migration_class = if facts.migration.is_current() {
        "ok"
    } else {
        "warn"
    };
    view! {
        <dl class="facts">
            <dt>"Version"</dt>
            <dd id="fact-version">{facts.version}</dd>
            <dt>"Store"</dt>
            <dd id="fact-store">{facts.store.as_str()} " · " <code>{facts.store_location}</code></dd>
            <dt>"Migration level"</dt>
            <dd id="fact-migration" class=migration_class>{migration}</dd>
            <dt>"Up since"</dt>
            <dd id="fact-started">
                {utc_datetime(facts.started_at_ms)} " (" {duration_short(facts.now_ms - facts.started_at_ms)} ")"
            </dd>
            <dt>"Server time"</dt>
            <dd id="fact-now">{utc_datetime(facts.now_ms)}</dd>
            {(!facts.superuser_targets.is_empty()).then(|| view! {
                <dt>"Superuser targets"</dt>
                <dd id="fact-superuser" class="warn">
                    <strong>{facts.superuser_targets.join(", ")}</strong>
                    " may connect as a PostgreSQL superuser (allow_superuser = true): anyone who may write plans, "
                    "a plans:write token included, can read and change every database of that server and read "
                    "and write files on its host. Give each a role with only the grants its jobs need (docs/security.md)."
                </dd>
            })}
        </dl>
    }
}
