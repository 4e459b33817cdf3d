//! Notifications (admins only): where the console announces events, which
//! events each endpoint hears, and every delivery with its attempts and last
//! error; a given-up delivery can be sent again. The server refuses
//! non-admins whatever the UI shows.
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::notify::{load_deliveries, RetryDelivery};
use crate::dto::notify::{DeliveryLog, DeliveryRow, EndpointSummary};
use crate::format::utc_datetime;

#[component]
pub fn Notifications() -> impl IntoView {
    let retry = ServerAction::<RetryDelivery>::new();
    let log = Resource::new(move || retry.version().get(), |_| load_deliveries());
    view! {
        <Title text="Notifications" />
        <div class="live" id="live-notifications" data-live-region>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || log.get().map(|r| match r {
                Err(e) => view! { <p class="error" id="notifications-error">{e.to_string()}</p> }.into_any(),
                Ok(log) => view! { <Log log retry /> }.into_any(),
            })}
        </Suspense>
        {move || retry.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error">{e.to_string()}</p> })}
        </div>
    }
}

#[component]
fn Log(log: DeliveryLog, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    let endpoints = if log.endpoints.is_empty() {
        view! {
            <p class="muted" id="no-endpoints">
                "No endpoints: add [notify.NAME] to console.toml (docs/notifications.md) to announce approvals, guardrail breaches and rollbacks."
            </p>
        }
        .into_any()
    } else {
        view! {
            <table id="endpoints">
                <thead><tr><th>"Endpoint"</th><th>"Address"</th><th>"Format"</th><th>"Events"</th><th>"Waiting"</th><th>"Delivered"</th><th>"Given up"</th></tr></thead>
                <tbody>{log.endpoints.into_iter().map(endpoint_row).collect_view()}</tbody>
            </table>
        }
        .into_any()
    };
    let deliveries = if log.deliveries.is_empty() {
        view! { <p class="muted" id="no-deliveries">"Nothing delivered yet."</p> }.into_any()
    } else {
        let rows = log
            .deliveries
            .into_iter()
            .map(|d| delivery_row(d, retry))
            .collect_view();
        view! {
            <div class="table-scroll">
            <table id="deliveries">
                <thead><tr><th>"Created (UTC)"</th><th>"Endpoint"</th><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th>"Next attempt / delivered"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card">
            <h1>"Notifications"</h1>
            <p class="muted">"Every delivery is signed (Standard Webhooks) and carries the same webhook-id on every attempt; a receiver that is down gets them later, in order."</p>
            {endpoints}
        </section>
        <section class="card">
            <h2>"Deliveries"</h2>
            {deliveries}
        </section>
    }
}

fn endpoint_row(e: EndpointSummary) -> impl IntoView {
    let waiting = match e.oldest_pending_ms {
        Some(ms) if e.pending > 0 => format!("{} (oldest {})", e.pending, utc_datetime(ms)),
        _ => e.pending.to_string(),
    };
    let waiting_class = if e.pending > 0 { "warn" } else { "" };
    let failed_class = if e.failed > 0 { "error" } else { "" };
    let key = e.name.clone();
    view! {
        <tr data-endpoint=key>
            <td>{e.name}</td>
            <td><code>{e.address}</code>{(!e.signed).then(|| view! { <span class="muted">" (unsigned)"</span> })}</td>
            <td>{e.format}</td>
            <td>{e.events.join(", ")}</td>
            <td class=waiting_class>{waiting}</td>
            <td>{e.delivered}</td>
            <td class=failed_class>{e.failed}</td>
        </tr>
    }
}

fn delivery_row(d: DeliveryRow, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    let class = match d.status.as_str() {
        "delivered" => "ok",
        "failed" => "error",
        _ => "warn",
    };
    let answer = match (d.last_status, &d.last_error) {
        (_, Some(error)) => error.clone(),
        (Some(status), None) => format!("HTTP {status}"),
        (None, None) => String::new(),
    };
    let when = match d.delivered_ms {
        Some(ms) => utc_datetime(ms),
        None if d.status == "pending" => utc_datetime(d.next_at_ms),
        None => String::new(),
    };
    let endpoint = d.endpoint.clone();
    let again = (d.status == "failed").then(move || {
        view! {
            <ActionForm action=retry attr:data-command="" attr:data-ok="Sent again.">
                <input type="hidden" name="endpoint" value=endpoint />
                <input type="hidden" name="seq" value=d.seq.to_string() />
                <button type="submit" class="secondary">"Send again"</button>
            </ActionForm>
        }
    });
    let (key, status) = (d.msg_id.clone(), d.status.clone());
    view! {
        <tr data-delivery=key data-status=status>
            <td class="nowrap">{utc_datetime(d.created_ms)}</td>
            <td>{d.endpoint}</td>
            <td><a href=format!("/audit/{}", d.seq)>{format!("#{} {}", d.seq, d.action)}</a></td>
            <td class=class>{d.status}</td>
            <td>{d.attempts}</td>
            <td>{answer}</td>
            <td class="nowrap">{when}</td>
            <td>{again}</td>
        </tr>
    }
}
