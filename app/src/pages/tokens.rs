//! API tokens (admins only): create one (its secret is shown once, here),
//! see when each was last used, revoke.
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::access::Scope;
use crate::api::identity::{list_tokens, CreateToken, RevokeToken};
use crate::dto::identity::TokenSummary;
use crate::format::utc_datetime;
use crate::pages::listing::Listing;

#[component]
pub fn Tokens() -> impl IntoView {
    view! {
        <Title text="API tokens" />
        <TokenAdmin />
    }
}

/// An island: a new token's secret is shown here, once, from the answer to
/// its form, and the list reads itself again after a create or a revoke.
#[island]
fn TokenAdmin() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    view! {
        <section class="card">
            <h1>"API tokens"</h1>
            <p class="muted">"Machines send a token as " <code>"Authorization: Bearer rct_…"</code> ". A token can do only what its scopes allow."</p>
            <Listing list=tokens id="tokens" empty="No tokens yet."
                head=&["Name", "Scopes", "Created", "Last used", "Status", ""]
                row=move |t: TokenSummary| {
                    let revoked = t.revoked_at_ms.is_some();
                    let id = t.id.clone();
                    view! {
                        <tr data-token=t.id.clone()>
                            <td>{t.name.clone()} <div class="muted"><code>{t.id.clone()}</code></div></td>
                            <td>{t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")} {t.environment.clone().map(|e| view! { <div class="muted">"in " {e}</div> })}</td>
                            <td class="nowrap">{utc_datetime(t.created_at_ms)} <div class="muted">"by " {t.created_by.clone()}</div></td>
                            <td class="nowrap">{t.last_used_at_ms.map_or("never".to_string(), utc_datetime)}</td>
                            <td class=if revoked { "warn" } else { "ok" }>{if revoked { "revoked" } else { "active" }}</td>
                            <td>
                                {(!revoked).then(|| view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=id.clone() />
                                        <button type="submit" class="danger">"Revoke"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                } />
        </section>

        <section class="card">
            <h2>"Create a token"</h2>
            <ActionForm action=create attr:id="create-token" attr:class="stack">
                <label>"Name (what uses it)" <input name="name" required maxlength="80" placeholder="deploy pipeline" /></label>
                <fieldset class="roles">
                    <legend>"Scopes"</legend>
                    {Scope::ALL.into_iter().map(|s| {
                        let field = format!("scope_{}", s.as_str().replace(':', "_"));
                        view! { <label><input type="checkbox" name=field value="on" /> " " <code>{s.as_str()}</code></label> }
                    }).collect_view()}
                </fieldset>
                <label>"Environment (a token with flags:read evaluates flags in this one only)" <input name="environment" maxlength="40" placeholder="production" /></label>
                <button type="submit">"Create token"</button>
            </ActionForm>
            {move || create.value().get().map(|r| match r {
                Ok(t) => view! {
                    <div class="secret" id="token-secret">
                        <p><strong>"Copy this token now: it is not shown again."</strong></p>
                        <code>{t.secret}</code>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" id="create-token-result">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
