//! A change request on the plan page: an edit that weakens a gate, waiting
//! for the approvals it asks for (or an admin override).
use leptos::prelude::*;

use super::form::fields;
use super::form::CommandForm;
use crate::access::{roles_allow, Action, Role};
use crate::dto::plans::ChangeRequestView;
use crate::format::utc_datetime;
use crate::pages::local_time::{LocalTime, WithLocalTimes};

/// An edit that weakens a gate, waiting: what it weakens, who decided, and
/// the forms the viewer may use (approve or reject if they hold one of its
/// roles and did not write it; override if admin; withdraw if its author or
/// admin).
pub(crate) fn change_request(
    plan_id: &str,
    c: ChangeRequestView,
    roles: &[Role],
    user_id: Option<&str>,
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
            <CommandForm class="inline approve-change">
                {approve}
                <input name="comment" maxlength="2000" placeholder="Comment" aria-label="Comment on approving the change" />
                <button type="submit">"Approve the change"</button>
            </CommandForm>
            <CommandForm class="inline reject-change">
                {reject}
                <input name="comment" required maxlength="2000" placeholder="Why reject" aria-label="Why reject the change" />
                <button type="submit" class="danger">"Reject"</button>
            </CommandForm>
        }
    });
    let override_form = admin.then(|| {
        let hidden = fields(plan_id, "override_change", &extra);
        view! {
            <CommandForm class="inline override-change">
                {hidden}
                <input name="reason" required maxlength="2000" placeholder="Why apply it without approvals" aria-label="Why override" />
                <button type="submit" class="danger">"Override: apply now"</button>
            </CommandForm>
        }
    });
    let withdraw = (author || admin).then(|| {
        let hidden = fields(plan_id, "withdraw_change", &extra);
        view! {
            <CommandForm class="inline withdraw-change">
                {hidden}
                <button type="submit">"Withdraw"</button>
            </CommandForm>
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
                {format!("{} by {} at ", d.verdict.as_str(), d.username)}<LocalTime ms=d.created_at_ms/>
                {(!d.comment.is_empty()).then(|| format!(" — {}", d.comment))}
            </li>
        })
        .collect_view();
    view! {
        <section class="change-request" id="change-request" data-change=c.id.clone()>
            <h2>"Change request waiting for approval"</h2>
            <p><WithLocalTimes text=format!(
                "{} edited the plan file at {}. The edit raises exposure or loosens a safeguard, so it applies only once {} {} with the role {} approve{} it (not its author), or an admin overrides it.",
                c.author,
                utc_datetime(c.created_at_ms),
                c.approvals_required,
                if c.approvals_required == 1 { "person" } else { "people" },
                roles_text,
                if c.approvals_required == 1 { "s" } else { "" }
            )/></p>
            <ul class="weakens">{weakens}</ul>
            {(!c.diff.is_empty()).then(|| view! {
                <details class="diff"><summary>"What it changes in the plan file"</summary><pre class="diff">{c.diff.clone()}</pre></details>
            })}
            <p class="approvals-count">{super::phase::approvals_count(c.approvals, c.approvals_required)}</p>
            <ul class="plain decisions">{decisions}</ul>
            <div class="change-actions">{decide} {override_form} {withdraw}</div>
        </section>
    }
}
