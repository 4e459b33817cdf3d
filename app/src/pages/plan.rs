//! One plan: the phase stepper, each phase's checklist (who ticked, when) and
//! gate (decisions, who is still needed), the flag's exposure, and the
//! rollback buttons. Every form works before hydration; once hydrated, the
//! page reloads its view when anyone changes the plan (SSE).
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::plan_phase::PhaseCard;
use crate::access::{roles_allow, Action, Role};
use crate::api::plans::{load_plan, RunPlanCommand};
use crate::dto::identity::CurrentUser;
use crate::dto::plans::{percent, ChangeRequestView, PhaseStatus, PlanStatus, PlanView};
use crate::format::utc_datetime;
use crate::Me;

pub(crate) type Cmd = ServerAction<RunPlanCommand>;

#[component]
pub fn PlanPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let cmd: Cmd = ServerAction::new();
    let refresh = RwSignal::new(0u64);
    let plan = Resource::new(
        move || (id(), refresh.get(), cmd.version().get()),
        |(id, _, _)| load_plan(id),
    );
    live_updates(Signal::derive(id), refresh);
    let me = expect_context::<Me>();
    let user = move || me.get().and_then(|r| r.ok()).flatten();
    view! {
        <Title text="Plan" />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || plan.get().map(|r| match r {
                Err(e) => view! { <section class="card"><p class="error" id="plan-error">{e.to_string()}</p></section> }.into_any(),
                Ok(p) => view! { <PlanBody plan=p cmd user=user() /> }.into_any(),
            })}
        </Transition>
        <div id="outcome" aria-live="polite">
            {move || cmd.value().get().map(|r| match r {
                Ok(o) => view! { <p class="ok outcome">{o.message}</p> }.into_any(),
                Err(e) => view! { <p class="error outcome">{e.to_string()}</p> }.into_any(),
            })}
        </div>
        <super::plan_timeline::TimelineCard plan_id=Signal::derive(id) refresh />
        <RollbackPanel cmd plan_id=Signal::derive(id) plan />
    }
}

/// Opens an EventSource on the plan's change feed (in the browser only) and
/// bumps `refresh` on each change, which reloads the view.
#[allow(unused_variables)]
pub(crate) fn live_updates(id: Signal<String>, refresh: RwSignal<u64>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let current = StoredValue::new_local(None::<web_sys::EventSource>);
        Effect::new(move |_| {
            let id = id.get();
            if let Some(old) = current.get_value() {
                old.close();
            }
            let Ok(source) = web_sys::EventSource::new(&format!("/api/v1/plans/{id}/events"))
            else {
                return;
            };
            let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
                refresh.update(|n| *n += 1);
            });
            let _ = source
                .add_event_listener_with_callback("changed", on_change.as_ref().unchecked_ref());
            on_change.forget();
            current.set_value(Some(source));
        });
        on_cleanup(move || {
            if let Some(source) = current.try_get_value().flatten() {
                source.close();
            }
        });
    }
}

/// The hidden fields every plan form carries.
pub(crate) fn fields(
    plan_id: &str,
    command: &'static str,
    extra: &[(&'static str, String)],
) -> impl IntoView {
    let mut all = vec![
        ("plan_id", plan_id.to_string()),
        ("command", command.to_string()),
    ];
    all.extend(extra.iter().cloned());
    all.into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
        .collect_view()
}

#[component]
fn PlanBody(plan: PlanView, cmd: Cmd, user: Option<CurrentUser>) -> impl IntoView {
    let roles: Vec<Role> = user.as_ref().map(|u| u.roles.clone()).unwrap_or_default();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let username = user.map(|u| u.username).unwrap_or_default();
    let can_write = roles_allow(&roles, Action::WritePlans);
    let s = plan.summary.clone();
    let status = s.status;
    let exposures = plan
        .flag
        .environments
        .iter()
        .map(|e| {
            let shown = if e.enabled { percent(e.exposure_bp) } else { "off".to_string() };
            view! {
                <li data-environment=e.environment.clone()>
                    {e.environment.clone()} " " <strong id=format!("exposure-{}", e.environment)>{shown}</strong>
                </li>
            }
        })
        .collect_view();
    let paused = status == PlanStatus::Active
        && plan
            .phases
            .iter()
            .rev()
            .find(|p| p.status.is_current())
            .and_then(|p| {
                plan.flag
                    .environments
                    .iter()
                    .find(|e| e.environment == p.environment)
            })
            .is_some_and(|e| !e.enabled);
    let resume = (paused && can_write).then(|| {
        let hidden = fields(&s.id, "resume", &[]);
        view! {
            <ActionForm action=cmd attr:class="inline" attr:id="resume-form">
                {hidden}
                <input name="reason" required maxlength="2000" placeholder="Why resume" aria-label="Why resume" />
                <button type="submit">"Resume the running phase"</button>
            </ActionForm>
        }
    });
    let last_ready = status == PlanStatus::Active
        && plan
            .phases
            .last()
            .is_some_and(|p| p.status == PhaseStatus::Approved && p.checklist_complete);
    let next_pending = plan
        .phases
        .iter()
        .position(|p| p.status == PhaseStatus::Pending);
    let mut denied: Vec<(String, Vec<String>)> = Vec::new();
    for e in &plan.flag.environments {
        for entity in &e.deny {
            match denied.iter_mut().find(|(d, _)| d == entity) {
                Some((_, envs)) => envs.push(e.environment.clone()),
                None => denied.push((entity.clone(), vec![e.environment.clone()])),
            }
        }
    }
    let deny = (!denied.is_empty()).then(|| {
        let rows = denied
            .into_iter()
            .map(|(entity, envs)| {
                let label = format!("Why restore {entity}");
                let hidden = fields(&s.id, "restore", &[("entity", entity.clone())]);
                let restore = can_write.then(|| view! {
                    <ActionForm action=cmd attr:class="inline">
                        {hidden}
                        <input name="reason" required maxlength="2000" placeholder="Why restore" aria-label=label />
                        <button type="submit">"Restore"</button>
                    </ActionForm>
                });
                view! {
                    <li data-denied=entity.clone()><code>{entity.clone()}</code> <span class="muted">{format!(" off in {}", envs.join(", "))}</span> {restore}</li>
                }
            })
            .collect_view();
        view! { <dt>"Rolled back alone"</dt><dd><ul class="plain" id="flag-deny">{rows}</ul></dd> }
    });
    let change = plan
        .change_request
        .clone()
        .map(|c| change_request(&s.id, c, &roles, user_id.as_deref(), cmd));
    let edit_link = if can_write && !status.is_final() {
        Some(
            view! { <a href=format!("/plans/{}/edit", s.id) id="edit-plan-link">"Edit plan file"</a> " · " },
        )
    } else {
        None
    };
    let complete = if can_write && last_ready {
        let hidden = fields(&s.id, "complete", &[]);
        Some(view! {
            <ActionForm action=cmd attr:class="inline" attr:id="complete-plan">
                {hidden}
                <button type="submit">"Complete the plan"</button>
            </ActionForm>
        })
    } else {
        None
    };
    let stepper = plan
        .phases
        .iter()
        .map(|p| {
            view! {
                <li data-status=p.status.as_str() data-phase=p.name.clone()>
                    <span class="step-name">{p.name.clone()}</span>
                    <span class="muted">{format!("{} · {}", percent(p.exposure_bp), p.status.as_str().replace('_', " "))}</span>
                </li>
            }
        })
        .collect_view();
    let jobs = (!plan.jobs.is_empty()).then(|| {
        let links = plan
            .jobs
            .iter()
            .map(|j| view! { <a href=format!("/plans/{}/jobs/{j}", s.id) data-job=j.clone()>{j.clone()}</a> " " })
            .collect_view();
        view! { <p class="jobs" id="plan-jobs">"Backfill jobs: " {links}</p> }
    });
    let plan_id = s.id.clone();
    let cards = plan
        .phases
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            view! {
                <PhaseCard
                    phase=p
                    plan_id=plan_id.clone()
                    plan_status=status
                    cmd
                    roles=roles.clone()
                    username=username.clone()
                    is_next=next_pending == Some(i)
                />
            }
        })
        .collect_view();
    view! {
        <section class="card" id="plan" data-status=status.as_str() data-revision=s.revision.to_string()>
            <div class="card-head">
                <h1 id="plan-name">{s.name.clone()}</h1>
                <span class=format!("status {}", status.as_str()) id="plan-status">{status.as_str()}</span>
            </div>
            <p class="muted">{plan.description.clone()}</p>
            <dl class="facts">
                <dt>"Flag"</dt>
                <dd><code>{plan.flag.key.clone()}</code> <ul class="exposures" id="flag-exposure">{exposures}</ul> {resume}</dd>
                {deny}
                {super::plan_pilot::allow_lists(&s.id, &plan.flag.environments, can_write, !status.is_final(), cmd)}
                <dt>"Created"</dt>
                <dd>{format!("{} by {}", utc_datetime(plan.created_at_ms), plan.created_by)}</dd>
                <dt>"Revision"</dt>
                <dd>{s.revision}</dd>
            </dl>
            <p class="links">
                {edit_link}
                <a href=format!("/api/v1/plans/{}/source", s.id) download="plan.toml">"Export TOML"</a>
                " · "
                <a href=format!("/audit?subject=plan:{}", s.id) id="plan-history">"History in the audit trail"</a>
            </p>
            <ol class="stepper" id="stepper">{stepper}</ol>
            {change}
            {jobs}
            {complete}
        </section>
        {super::plan_guardrails::guardrails_card(&plan.guardrails)}
        {cards}
    }
    .into_any()
}

/// The rollback buttons, outside the live view so typing is never
/// interrupted by a reload. Each needs the plan's name typed and a reason.
#[component]
fn RollbackPanel(
    cmd: Cmd,
    plan_id: Signal<String>,
    plan: Resource<Result<PlanView, crate::error::AppError>>,
) -> impl IntoView {
    let can_write = crate::may(Action::WritePlans);
    view! {
        <Suspense fallback=|| ()>
            {move || can_write().then(|| view! {
                <section class="card danger-zone" id="rollback">
                    <h2>"Roll back"</h2>
                    <Transition fallback=|| ()>
                        {move || plan.get().and_then(|r| r.ok()).map(|p| rollback_preview(&p))}
                    </Transition>
                    <ActionForm action=cmd attr:class="stack" attr:id="rollback-form">
                        <input type="hidden" name="plan_id" value=plan_id />
                        <input type="hidden" name="command" value="rollback" />
                        <fieldset class="roles">
                            <legend>"What"</legend>
                            <label><input type="radio" name="kind" value="standard" checked /> "Standard: the running phase's environment back to where it was before the phase (or 0 %); the plan stays active"</label>
                            <label><input type="radio" name="kind" value="pause" /> "Pause at 0 %: the running phase's environment off until you resume; the plan stays active"</label>
                            <label><input type="radio" name="kind" value="emergency" /> "Emergency: flag off in every environment, jobs paused, plan rolled back"</label>
                            <label><input type="radio" name="kind" value="entity" /> "One organisation: off for it in every environment (can be restored)"</label>
                            <label><input type="radio" name="kind" value="abort" /> "Abort the plan: flag off in every environment"</label>
                        </fieldset>
                        <label>"Organisation id (one-organisation rollback only)" <input name="entity" maxlength="256" /></label>
                        <label>"Reason" <input name="reason" required maxlength="2000" /></label>
                        <label>"Type the plan's name to confirm" <input name="confirm" required autocomplete="off" /></label>
                        <button type="submit" class="danger">"Roll back"</button>
                    </ActionForm>
                </section>
            })}
        </Suspense>
    }
}

/// Each rollback's effect on each environment, before → after, shown above
/// the typed confirmation.
fn rollback_preview(plan: &PlanView) -> impl IntoView {
    let rows = plan
        .rollbacks
        .iter()
        .map(|r| {
            let effect = match (&r.unavailable, r.changes.is_empty()) {
                (Some(why), _) => view! { <span class="muted">{format!("not now: {why}")}</span> }.into_any(),
                (None, true) => view! { <span class="muted">"no exposure changes"</span> }.into_any(),
                (None, false) => r
                    .changes
                    .iter()
                    .map(|c| view! {
                        <span class="change" data-environment=c.environment.clone()>
                            {format!("{} {} → {}", c.environment, percent(c.before_bp), percent(c.after_bp))}
                        </span>
                    })
                    .collect_view()
                    .into_any(),
            };
            let steps = (!r.runbook.is_empty()).then(|| {
                let items = r.runbook.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view();
                view! {
                    <tr class="runbook-steps" data-steps-of=r.kind.as_str()>
                        <td></td>
                        <td><span class="muted">"then, by hand:"</span><ol class="runbook">{items}</ol></td>
                    </tr>
                }
            });
            view! {
                <tr data-kind=r.kind.as_str()><th scope="row">{r.kind.as_str()}</th><td>{effect}</td></tr>
                {steps}
            }
        })
        .collect_view();
    view! {
        <table class="preview" id="rollback-preview">
            <caption>"What each rollback does now (exposure before → after)"</caption>
            <tbody>
                {rows}
                <tr data-kind="entity"><th scope="row">"entity"</th><td><span class="muted">"the organisation: on → off in every environment"</span></td></tr>
            </tbody>
        </table>
    }
}

/// An edit that weakens a gate, waiting: what it weakens, who decided, and
/// the forms the viewer may use (approve or reject if they hold one of its
/// roles and did not write it; override if admin; withdraw if its author or
/// admin).
fn change_request(
    plan_id: &str,
    c: ChangeRequestView,
    roles: &[Role],
    user_id: Option<&str>,
    cmd: Cmd,
) -> impl IntoView {
    let author = user_id == Some(c.author_id.as_str());
    let decided = c
        .decisions
        .iter()
        .any(|d| Some(d.user_id.as_str()) == user_id);
    let may_decide = !author && !decided && roles.iter().any(|r| c.approver_roles.contains(r));
    let admin = roles_allow(roles, Action::OverrideGates);
    let extra = [("change_id", c.id.clone())];
    let decide = may_decide.then(|| {
        let (approve, reject) = (fields(plan_id, "decide_change", &[("change_id", c.id.clone()), ("verdict", "approve".into())]),
            fields(plan_id, "decide_change", &[("change_id", c.id.clone()), ("verdict", "reject".into())]));
        view! {
            <ActionForm action=cmd attr:class="inline approve-change">
                {approve}
                <input name="comment" maxlength="2000" placeholder="Comment" aria-label="Comment on approving the change" />
                <button type="submit">"Approve the change"</button>
            </ActionForm>
            <ActionForm action=cmd attr:class="inline reject-change">
                {reject}
                <input name="comment" required maxlength="2000" placeholder="Why reject" aria-label="Why reject the change" />
                <button type="submit" class="danger">"Reject"</button>
            </ActionForm>
        }
    });
    let override_form = admin.then(|| {
        let hidden = fields(plan_id, "override_change", &extra);
        view! {
            <ActionForm action=cmd attr:class="inline override-change">
                {hidden}
                <input name="reason" required maxlength="2000" placeholder="Why apply it without approvals" aria-label="Why override" />
                <button type="submit" class="danger">"Override: apply now"</button>
            </ActionForm>
        }
    });
    let withdraw = (author || admin).then(|| {
        let hidden = fields(plan_id, "withdraw_change", &extra);
        view! {
            <ActionForm action=cmd attr:class="inline withdraw-change">
                {hidden}
                <button type="submit">"Withdraw"</button>
            </ActionForm>
        }
    });
    let roles_text = c
        .approver_roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    let weakens = c
        .weakens
        .iter()
        .map(|w| view! { <li>{w.clone()}</li> })
        .collect_view();
    let decisions = c
        .decisions
        .iter()
        .map(|d| view! {
            <li data-user=d.username.clone() data-verdict=d.verdict.as_str()>
                {format!("{} by {} at {}", d.verdict.as_str(), d.username, utc_datetime(d.created_at_ms))}
                {(!d.comment.is_empty()).then(|| format!(" — {}", d.comment))}
            </li>
        })
        .collect_view();
    view! {
        <section class="change-request" id="change-request" data-change=c.id.clone()>
            <h2>"Change request waiting for approval"</h2>
            <p>{format!(
                "{} edited the plan file at {}. The edit weakens a gate, so it applies only once {} {} with the role {} approve{} it (not its author), or an admin overrides it.",
                c.author,
                utc_datetime(c.created_at_ms),
                c.approvals_required,
                if c.approvals_required == 1 { "person" } else { "people" },
                roles_text,
                if c.approvals_required == 1 { "s" } else { "" }
            )}</p>
            <ul class="weakens">{weakens}</ul>
            <p class="approvals-count">{format!("{} of {} approvals", c.approvals, c.approvals_required)}</p>
            <ul class="plain decisions">{decisions}</ul>
            <div class="change-actions">{decide} {override_form} {withdraw}</div>
        </section>
    }
}
