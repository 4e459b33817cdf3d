//! One audit event: every stored field, its details as indented JSON, and the
//! two hashes that chain it to its neighbours.
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::audit::load_audit_event;
use crate::dto::audit::AuditEvent;
use crate::error::AppError;
use crate::format::utc_datetime;

#[component]
pub fn AuditEventPage() -> impl IntoView {
    let params = use_params_map();
    let seq = move || params.with(|p| p.get("seq").and_then(|s| s.parse::<i64>().ok()));
    let event = Resource::new(seq, |seq| async move {
        match seq {
            Some(seq) => load_audit_event(seq).await,
            None => Err(AppError::NotFound("audit event".into())),
        }
    });
    view! {
        <Title text="Audit event" />
        <section class="card">
            <p><a href="/audit">"← Audit trail"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || event.get().map(|r| match r {
                    Ok(e) => view! { <EventDetail event=e /> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn EventDetail(event: AuditEvent) -> impl IntoView {
    let details = serde_json::from_str::<serde_json::Value>(&event.details)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| event.details.clone());
    let prev = event.seq - 1;
    view! {
        <h1 id="event-title">"Event #" {event.seq} " · " <code>{event.action.clone()}</code></h1>
        <dl class="facts">
            <dt>"Time (UTC)"</dt><dd>{utc_datetime(event.at_ms)} <span class="muted">" (" {event.at_ms} " ms)"</span></dd>
            <dt>"Actor"</dt><dd id="event-actor">{event.actor_name.clone()} <span class="muted">" (" {event.actor_kind.clone()} {(!event.actor_id.is_empty()).then(|| format!(" {}", event.actor_id))} ")"</span></dd>
            <dt>"Subject"</dt><dd>{event.subject.clone()}</dd>
            <dt>"Client address"</dt><dd>{event.client_addr.clone()}</dd>
            <dt>"User agent"</dt><dd class="wrap">{event.user_agent.clone()}</dd>
            <dt>"Previous hash"</dt>
            <dd><code class="hash">{event.prev_hash.clone()}</code>
                {(prev > 0).then(|| view! { " " <a href=format!("/audit/{prev}")>"#" {prev}</a> })}
            </dd>
            <dt>"Hash"</dt><dd><code class="hash">{event.hash.clone()}</code></dd>
        </dl>
        <h2>"Details"</h2>
        <pre class="json" id="event-details">{details}</pre>
    }
}
