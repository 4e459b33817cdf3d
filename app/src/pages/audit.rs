//! The audit review page: the chain's verification badge, a filter (a GET
//! form, so it works before hydration and every view has a shareable URL),
//! newest events first with keyset paging, and exports of the filtered set.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::audit::{load_audit_page, load_chain_report, verify_chain};
use crate::dto::audit::{AuditQuery, ChainReport, ChainStatus};
use crate::format::utc_datetime;
use crate::pages::local_time::LocalTime;

fn query_string(q: &AuditQuery, extra: &[(&str, String)]) -> String {
    let mut pairs: Vec<(&str, String)> = [
        ("actor", &q.actor),
        ("action", &q.action),
        ("subject", &q.subject),
        ("from", &q.from),
        ("to", &q.to),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    pairs.extend(extra.iter().cloned());
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encoding for a query value (unreserved characters pass).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn AuditLog() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| {
            let get = |k: &str| {
                p.get(k)
                    .map(|v| v.to_string())
                    .filter(|v| !v.trim().is_empty())
            };
            AuditQuery {
                actor: get("actor"),
                action: get("action"),
                subject: get("subject"),
                from: get("from"),
                to: get("to"),
                before: get("before").and_then(|b| b.parse().ok()),
            }
        })
    });
    let page = Resource::new(move || query.get(), load_audit_page);
    // The form shows the filter in force: each input reads its own field.
    let value = move |field: fn(&AuditQuery) -> &Option<String>| {
        move || query.with(|q| field(q).clone().unwrap_or_default())
    };

    view! {
        <Title text="Audit trail" />
        <section class="card">
            <div class="card-head">
                <h1>"Audit trail"</h1>
                <Chain />
            </div>

            <form method="get" action="/audit" class="filters" id="audit-filter">
                <label>"Actor" <input name="actor" placeholder="alice" value=value(|q| &q.actor) /></label>
                <label>"Action" <input name="action" placeholder="auth.* or user.create" value=value(|q| &q.action) /></label>
                <label>"Subject" <input name="subject" placeholder="a plan's name, user:alice or plan:*" value=value(|q| &q.subject) /></label>
                <label>"From (UTC)" <input name="from" placeholder="2026-11-25 or 2026-11-25T10:00" value=value(|q| &q.from) /></label>
                <label>"To (UTC)" <input name="to" placeholder="exclusive" value=value(|q| &q.to) /></label>
                <div class="filter-actions">
                    <button type="submit" id="apply-filter">"Filter"</button>
                    <a href="/audit">"Clear"</a>
                </div>
            </form>

            // The exports select what the page shows: its filter as applied
            // (a plan's name resolved to its subject).
            <Suspense fallback=|| ()>{move || {
                let mut q = query.get();
                if let Some(Ok(p)) = page.get() {
                    q.subject = p.subject.clone();
                }
                let csv = format!("/api/v1/audit/export?{}", query_string(&q, &[("format", "csv".into())]));
                let jsonl = format!("/api/v1/audit/export?{}", query_string(&q, &[("format", "jsonl".into())]));
                view! {
                    <p class="exports">
                        "Export this selection: "
                        <a id="export-csv" rel="external" href=csv>"CSV"</a>
                        " · "
                        <a id="export-jsonl" rel="external" href=jsonl>"JSON lines"</a>
                    </p>
                }
            }}</Suspense>

            <Suspense fallback=|| view! { <p>"Loading events…"</p> }>
                {move || page.get().map(|result| match result {
                    Err(e) => view! { <p class="error" id="audit-error">{e.to_string()}</p> }.into_any(),
                    Ok(page) if page.events.is_empty() => view! {
                        <p class="muted" id="audit-empty">"No events match this filter."</p>
                    }.into_any(),
                    Ok(page) => {
                        let older = page.next_before.map(|b| {
                            format!("/audit?{}", query_string(&query.get_untracked(), &[("before", b.to_string())]))
                        });
                        let names = page.subject_names.clone();
                        view! {
                            <div class="table-scroll">
                            <table class="events" id="audit-events">
                                <thead>
                                    <tr><th>"#"</th><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Subject"</th><th>"Phase · where"</th><th>"Reason"</th></tr>
                                </thead>
                                <tbody>
                                    {page.events.into_iter().map(|e| view! {
                                        <tr data-seq=e.seq data-action=e.action.clone() data-actor=e.actor_name.clone()>
                                            <td><a href=format!("/audit/{}", e.seq)>{e.seq}</a></td>
                                            <td class="nowrap"><LocalTime ms=e.at_ms /></td>
                                            <td>{e.actor_name.clone()} <span class="muted">" (" {e.actor_kind.clone()} ")"</span></td>
                                            <td><code>{e.action.clone()}</code></td>
                                            <td class="subject">{subject_cell(&e.subject, &names)}</td>
                                            <td class="where">{where_of(&e.details)}</td>
                                            <td class="wrap reason">{reason_of(&e.details)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            <nav class="pager">
                                {(query.get_untracked().before.is_some()).then(|| view! { <a href=format!("/audit?{}", query_string(&query.get_untracked(), &[]))>"← Newest"</a> })}
                                {older.map(|href| view! { <a id="older" href=href>"Older →"</a> })}
                            </nav>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A plan subject as its name, linked to the plan; others as they are.
fn subject_cell(subject: &str, names: &[(String, String)]) -> AnyView {
    match (
        subject.strip_prefix("plan:"),
        names.iter().find(|(s, _)| s == subject),
    ) {
        (Some(id), Some((_, name))) => view! {
            <a href=format!("/plans/{id}") title=subject.to_string()>{name.clone()}</a>
        }
        .into_any(),
        _ => view! { <code>{subject.to_string()}</code> }.into_any(),
    }
}

/// Which phase, environment, guardrail or organisation an event concerns,
/// when its details say: "production 5% · production", "guardrail error_rate".
pub(crate) fn where_of(details: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
    let mut parts: Vec<String> = ["phase", "environment"]
        .iter()
        .filter_map(|k| v[*k].as_str().filter(|s| !s.is_empty()).map(str::to_string))
        .collect();
    parts.dedup();
    if let Some(g) = v["guardrail"].as_str() {
        parts.push(format!("guardrail {g}"));
    }
    if let Some(e) = v["entity"].as_str() {
        parts.push(format!("organisation {e}"));
    }
    parts.join(" · ")
}

/// The event's reason (or comment), when its details carry one.
pub(crate) fn reason_of(details: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
    ["reason", "comment", "override_reason"]
        .iter()
        .find_map(|k| v[*k].as_str().filter(|s| !s.is_empty()))
        .unwrap_or("")
        .to_string()
}

#[component]
fn ChainBadge(report: ChainReport) -> impl IntoView {
    let class = match report.status {
        ChainStatus::Intact { .. } => "badge intact",
        ChainStatus::Broken { .. } => "badge broken",
    };
    let title = format!(
        "{} events checked in {} ms at {}",
        report.events_checked,
        report.duration_ms,
        utc_datetime(report.checked_at_ms)
    );
    view! { <span class=class id="chain-badge" title=title>{report.headline()}</span> }
}

/// An island: the chain's badge, and "Verify now", which walks it again.
#[island]
fn Chain() -> impl IntoView {
    let report = Resource::new(|| (), |_| load_chain_report());
    let verify = Action::new(|_: &()| verify_chain());
    view! {
        <div class="badge-row">
            <Suspense fallback=|| view! { <span class="badge">"checking the chain…"</span> }>
                {move || {
                    let latest = verify.value().get().or_else(|| report.get());
                    latest.map(|r| match r {
                        Ok(r) => view! { <ChainBadge report=r /> }.into_any(),
                        Err(e) => view! { <span class="badge broken">{e.to_string()}</span> }.into_any(),
                    })
                }}
            </Suspense>
            <button
                type="button"
                id="verify-chain"
                class="secondary"
                disabled=move || verify.pending().get()
                on:click=move |_| {
                    verify.dispatch(());
                }
            >
                {move || if verify.pending().get() { "Verifying…" } else { "Verify now" }}
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_keep_filters_and_encode() {
        let q = AuditQuery {
            actor: Some("alice smith".into()),
            action: Some("auth.*".into()),
            subject: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(
            query_string(&q, &[("before", "42".into())]),
            "actor=alice%20smith&action=auth.%2A&before=42"
        );
    }
}
