//! One phase of the plan page: its state, its checklist (who ticked, when,
//! what the server judged) and its gate (decisions, who is still needed),
//! with the forms to tick, request, decide and start.
use leptos::prelude::*;

use super::form::fields;
use super::form::CommandForm;
use crate::access::{roles_allow, Action, Role};
use crate::dto::plans::{
    exposure_text, percent, ItemKind, ItemView, PhaseStatus, PhaseView, PlanEditView, PlanStatus,
    Verdict,
};
use crate::format::{duration_short, utc_datetime};
use crate::pages::local_time::{LocalTime, WithLocalTimes};

fn checklist_row(it: ItemView, plan_id: &str, running: bool, roles: &[Role]) -> impl IntoView {
    let ticked = it.ticked_at_ms.is_some();
    let can_tick = running
        && it.kind == ItemKind::Manual
        && (roles.contains(&Role::Admin) || roles.iter().any(|r| it.tickers.contains(r)));
    let mark = if it.met {
        "✓"
    } else if !it.evaluable {
        "…"
    } else {
        "✗"
    };
    let auto = it
        .check
        .clone()
        .map(|c| view! { <div class="muted">{format!("automatic: {c} — ")}<WithLocalTimes text=it.detail.clone()/></div> });
    let by = it.ticked_by.clone().map(|who| {
        let comment = it.tick_comment.clone().map(|c| format!(" — {c}"));
        view! {
            <div class="muted ticked-by">
                {format!("ticked by {who} at ")}
                {it.ticked_at_ms.map(|ms| view! { <LocalTime ms /> })}
                {comment}
            </div>
        }
    });
    let form = if can_tick {
        let comment = if ticked {
            None
        } else {
            Some(
                view! { <input name="comment" placeholder="comment (optional)" maxlength="2000" /> },
            )
        };
        let hidden = fields(
            plan_id,
            "tick",
            &[
                ("item_id", it.id.clone()),
                ("ticked", (!ticked).to_string()),
            ],
        );
        Some(view! {
            <CommandForm class="inline tick">
                {hidden}
                {comment}
                <button type="submit" class="secondary">{if ticked { "Untick" } else { "Tick" }}</button>
            </CommandForm>
        })
    } else {
        None
    };
    view! {
        <tr data-item=it.text.clone() data-met=it.met.to_string()>
            <td class="nowrap">{mark}</td>
            <td>{it.text.clone()} {auto} {by}</td>
            <td>{form}</td>
        </tr>
    }
    .into_any()
}

#[component]
pub(crate) fn PhaseCard(
    phase: PhaseView,
    plan_id: String,
    plan_status: PlanStatus,
    roles: Vec<Role>,
    username: String,
    is_next: bool,
    /// The exposure its environment has now (off counts as 0).
    current_bp: i64,
    /// Its environment's allow list now (empty while off).
    current_allow: Vec<String>,
    /// The plan file's edits since its last approval.
    edits: Vec<PlanEditView>,
) -> impl IntoView {
    let p = phase;
    let open = !plan_status.is_final();
    let can_write = roles_allow(&roles, Action::WritePlans) && open;
    let may_approve = roles_allow(&roles, Action::ApproveGates)
        && crate::access::gate_asks(&roles, &username, &p.approver_roles, &p.approvers)
        && p.requested_by.as_deref() != Some(username.as_str())
        && open;
    let may_override = roles_allow(&roles, Action::OverrideGates) && open;
    let running = p.status.is_current() && open;
    let deciding = matches!(
        p.status,
        PhaseStatus::AwaitingApproval | PhaseStatus::Approved
    );
    let decided_by_me = p
        .decisions
        .iter()
        .any(|d| d.dismissed_at_ms.is_none() && d.username == username);
    let needed = (p.approvals_required - p.approvals).max(0);
    let approver_roles = if p.approvers.is_empty() {
        p.approver_roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    } else {
        p.approvers.join(", ")
    };
    let soak = if p.soak_ms > 0 {
        format!("soak {}", duration_short(p.soak_ms))
    } else {
        "no soak".to_string()
    };
    let summary = format!(
        "{} · exposure {} · {} approval(s) from {} · {}{}",
        p.environment,
        percent(p.exposure_bp),
        p.approvals_required,
        approver_roles,
        soak,
        p.started_at_ms
            .map(|t| format!(" · started {}", utc_datetime(t)))
            .unwrap_or_default()
    );
    let notes = (!p.notes.is_empty()).then(|| view! { <p class="notes">{p.notes.clone()}</p> });
    let irreversible = p.irreversible.clone().map(|why| {
        view! {
            <p class="irreversible" data-irreversible="true">
                <strong>"Irreversible: "</strong>{why}
                " Once it has started, rollbacks that turn the flag down here are marked unsafe and need \"roll back anyway\"; guardrails only record."
            </p>
        }
    });
    // Entry criteria are ticked before the phase starts; the checklist while
    // it runs.
    let pending = p.status == PhaseStatus::Pending && open;
    let entry: Vec<ItemView> = p.checklist.iter().filter(|i| i.entry).cloned().collect();
    let entry = (!entry.is_empty()).then(|| {
        let rows = entry
            .into_iter()
            .map(|it| checklist_row(it, &plan_id, pending, &roles))
            .collect_view();
        view! {
            <h3>"Before starting"</h3>
            <table class="events checklist entry"><tbody>{rows}</tbody></table>
        }
    });
    let rows = p
        .checklist
        .iter()
        .filter(|i| !i.entry)
        .cloned()
        .map(|it| checklist_row(it, &plan_id, running, &roles))
        .collect_view();
    let overridden = p
        .overridden
        .then(|| view! { <span class="badge override">"OVERRIDDEN by an admin"</span> });
    let requested = p
        .requested_by
        .clone()
        .map(|who| view! { <span class="muted">{format!(" · requested by {who}")}</span> });
    let still_needed = (deciding && needed > 0 && !p.overridden).then(|| {
        view! { <span class="still-needed">{format!(" · still needed: {needed} more from {approver_roles}")}</span> }
    });
    let decisions = p
        .decisions
        .iter()
        .map(|d| {
            let dismissed = d.dismissed_at_ms.is_some();
            let verdict = match d.verdict {
                Verdict::Approve => " approved",
                Verdict::Reject => " rejected",
                Verdict::Override => " OVERRODE the gate",
            };
            let comment = (!d.comment.is_empty()).then(|| format!(" — {}", d.comment));
            let reason = d
                .dismissed_reason
                .clone()
                .map(|r| view! { <span class="muted">{format!(" (dismissed: {r})")}</span> });
            view! {
                <li data-verdict=d.verdict.as_str() data-dismissed=dismissed.to_string() data-user=d.username.clone()
                    class=if dismissed { "dismissed" } else { "" }>
                    <strong>{d.username.clone()}</strong>
                    {verdict}
                    " at " <LocalTime ms=d.created_at_ms />
                    {comment}
                    {reason}
                </li>
            }
        })
        .collect_view();
    let phase_field = ("phase_id", p.id.clone());
    let evidence_field = ("evidence", p.evidence_hash.clone());
    let request = (can_write && p.status == PhaseStatus::Active).then(|| {
        let hidden = fields(
            &plan_id,
            "request_approval",
            std::slice::from_ref(&phase_field),
        );
        view! {
            <CommandForm class="inline request-approval">
                {hidden}
                <button type="submit">"Request approval"</button>
            </CommandForm>
        }
    });
    let decide = (may_approve && deciding && !decided_by_me).then(|| {
        let approve = fields(
            &plan_id,
            "decide",
            &[
                phase_field.clone(),
                evidence_field.clone(),
                ("verdict", "approve".into()),
            ],
        );
        let reject = fields(
            &plan_id,
            "decide",
            &[
                phase_field.clone(),
                evidence_field.clone(),
                ("verdict", "reject".into()),
            ],
        );
        let unmet: Vec<String> = p
            .checklist
            .iter()
            .filter(|i| !i.entry && !i.met)
            .map(|i| i.text.clone())
            .collect();
        let over_failed = !unmet.is_empty();
        let warning = over_failed.then(|| view! {
            <p class="warn approve-warning">{format!(
                "✗ Not met: {}. Approving anyway needs a comment saying why.",
                unmet.join("; ")
            )}</p>
        });
        let what = format!(
            "Approving signs this evidence: the checklist above as shown, the gate, and {} at {}.",
            p.environment,
            percent(p.exposure_bp)
        );
        let changed = if edits.is_empty() {
            view! { <p class="muted edits-since">"The plan file has not changed since its last approval."</p> }.into_any()
        } else {
            let rows = edits
                .iter()
                .map(|e| {
                    let what = if e.changes.is_empty() { "no change to phases or gates".to_string() } else { e.changes.join("; ") };
                    view! { <li>{format!("{} — ", e.by)} <LocalTime ms=e.at_ms /> {format!(": {what}")}</li> }
                })
                .collect_view();
            view! {
                <div class="edits-since">
                    <p class="warn">{format!("The plan file changed {} time(s) since its last approval:", edits.len())}</p>
                    <ul>{rows}</ul>
                </div>
            }
            .into_any()
        };
        let signed = p.signed;
        let sign = move || signed.then(|| view! { <input type="hidden" name="signature" value="" data-sign="" /> });
        let signed_note = p.signed.then(|| view! {
            <p class="muted signed-note">"This gate takes decisions signed with a passkey: your browser asks for yours, and the signature covers exactly this decision and this evidence."</p>
        });
        view! {
            {signed_note}
            <div class="decide">
                <CommandForm class="stack approve">
                    {approve}
                    {sign()}
                    <p class="muted">{what}</p>
                    {changed}
                    {warning}
                    <input name="comment" placeholder=if over_failed { "why approve anyway (required)" } else { "comment (optional)" }
                        required=over_failed maxlength="2000" aria-label="Comment on approving" />
                    <button type="submit">"Approve"</button>
                </CommandForm>
                <CommandForm class="stack reject">
                    {reject}
                    {sign()}
                    <input name="comment" placeholder="why (required)" required maxlength="2000" aria-label="Why reject" />
                    <button type="submit" class="danger">"Reject"</button>
                </CommandForm>
            </div>
        }
    });
    let override_form = (may_override
        && matches!(p.status, PhaseStatus::Active | PhaseStatus::AwaitingApproval))
    .then(|| {
        let hidden = fields(&plan_id, "override", &[phase_field.clone(), evidence_field.clone()]);
        view! {
            <details class="override">
                <summary>"Admin override"</summary>
                <CommandForm class="stack">
                    {hidden}
                    <input name="reason" placeholder="reason (required; shown everywhere)" required maxlength="2000" />
                    <button type="submit" class="danger">"Pass the gate without its approvals"</button>
                </CommandForm>
            </details>
        }
    });
    let start = (is_next && p.status == PhaseStatus::Pending && open)
        .then(|| start_control(&plan_id, &p, can_write, (current_bp, &current_allow)));
    view! {
        <section class="card phase" data-phase=p.name.clone() data-status=p.status.as_str()>
            <div class="card-head">
                <h2>{p.name.clone()}</h2>
                <span class=format!("status {}{}", p.status.as_str(), if open { "" } else { " finished" })>{p.status.label()}</span>
            </div>
            <p class="muted"><WithLocalTimes text=summary/></p>
            {notes}
            {irreversible}
            {runbook(&p.runbook)}
            {super::pilot::phase_pilot(&plan_id, &p, can_write, open)}
            {entry}
            <h3>"Checklist"</h3>
            <table class="events checklist"><tbody>{rows}</tbody></table>
            <h3>"Gate"</h3>
            <div class="gate">
                <p>
                    <strong class="approvals-count">{approvals_count(p.approvals, p.approvals_required)}</strong>
                    {overridden}
                    {requested}
                    {still_needed}
                </p>
                <ul class="decisions">{decisions}</ul>
                {request}
                {decide}
                {override_form}
            </div>
            <div class="start">{start}</div>
        </section>
    }
    .into_any()
}

/// Starting the next phase: what it will do to its environment's exposure,
/// confirmed before it is sent; or, while it cannot start, the button shown
/// disabled with every reason.
fn start_control(
    plan_id: &str,
    p: &PhaseView,
    can_write: bool,
    (current_bp, current_allow): (i64, &[String]),
) -> AnyView {
    // The phase's pilot entities join the allow list when it starts.
    let mut allow_after: Vec<&String> = current_allow.iter().chain(&p.pilot).collect();
    allow_after.sort();
    allow_after.dedup();
    let now = exposure_text(current_bp, current_allow.len());
    let then = exposure_text(p.exposure_bp, allow_after.len());
    let change = format!("{}: {now} → {then}", p.environment);
    let label = format!("Start {} ({change})", p.name);
    if !p.start_blockers.is_empty() {
        let blockers = p
            .start_blockers
            .iter()
            .map(|b| view! { <li class="warn"><WithLocalTimes text=b.clone()/></li> })
            .collect_view();
        return view! {
            <button type="button" disabled aria-describedby=format!("blockers-{}", p.id)>{label}</button>
            <p class="muted">"Cannot start yet:"</p>
            <ul class="blockers" id=format!("blockers-{}", p.id)>{blockers}</ul>
        }
        .into_any();
    }
    if !can_write {
        return view! { <p class="muted">{format!("Ready to start ({change}).")}</p> }.into_any();
    }
    let hidden = fields(plan_id, "start_phase", &[("phase_id", p.id.clone())]);
    let raises = p.exposure_bp > current_bp || allow_after.len() > current_allow.len();
    let what = if raises {
        format!(
            "Starting {:?} raises {} from {now} to {then} at once.",
            p.name, p.environment,
        )
    } else {
        format!("Starting {:?} sets {} to {then}.", p.name, p.environment)
    };
    view! {
        <details class="confirm start-confirm">
            <summary role="button">{format!("Start {}…", p.name)}</summary>
            <CommandForm class="stack start-phase">
                {hidden}
                <p class=if raises { "warn" } else { "" }>{what}</p>
                <label class="check">
                    <input type="checkbox" required />
                    {format!(" I have checked it: {change}")}
                </label>
                <button type="submit">{label}</button>
            </CommandForm>
        </details>
    }
    .into_any()
}

/// "1 of 2 approvals"; more than the gate asks for reads as such, not "2 of 1".
pub(crate) fn approvals_count(approvals: i64, required: i64) -> String {
    match (approvals, required) {
        (a, r) if a > r => format!("{a} approvals ({r} needed)"),
        (a, r) => format!("{a} of {r} approvals"),
    }
}

/// The phase's steps that people carry out (deploys, restarts), in order.
fn runbook(steps: &[String]) -> Option<AnyView> {
    (!steps.is_empty()).then(|| {
        let items = steps
            .iter()
            .map(|s| view! { <li>{s.clone()}</li> })
            .collect_view();
        view! {
            <details class="runbook" open>
                <summary>"Runbook (done by people, not by the console)"</summary>
                <ol>{items}</ol>
            </details>
        }
        .into_any()
    })
}

#[cfg(test)]
mod tests {
    use super::approvals_count;

    #[test]
    fn more_approvals_than_needed_do_not_read_as_2_of_1() {
        assert_eq!(approvals_count(0, 2), "0 of 2 approvals");
        assert_eq!(approvals_count(2, 2), "2 of 2 approvals");
        assert_eq!(approvals_count(2, 1), "2 approvals (1 needed)");
    }
}
