//! The signed-in person's own page: their passkeys, which sign decisions on
//! gates that ask for signed approvals. Adding and removing one happens in
//! the browser (`public/passkeys.js`: WebAuthn needs it).
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::identity::list_passkeys;
use crate::dto::identity::PasskeySummary;
use crate::format::utc_datetime;
use crate::pages::listing::Listing;

#[component]
pub fn Account() -> impl IntoView {
    let keys = Resource::new(|| (), |_| list_passkeys());
    view! {
        <Title text="Account" />
        <section class="card" id="passkeys">
            <h1>"Passkeys"</h1>
            <p class="muted">"A passkey signs your decisions on gates that take signed approvals: the signature covers the plan, the phase, your verdict and the evidence you saw, and anyone can check it later from the audit trail alone."</p>
            <Listing list=keys id="passkey-list" empty="No passkeys yet."
                head=&["Name", "Added (UTC)", "Last used (UTC)", ""]
                row=move |k: PasskeySummary| view! {
                    <tr data-passkey=k.credential_id.clone()>
                        <td>{k.name.clone()}</td>
                        <td class="nowrap">{utc_datetime(k.created_ms)}</td>
                        <td class="nowrap">{k.last_used_ms.map(utc_datetime).unwrap_or_else(|| "never".into())}</td>
                        <td>
                            <form class="remove-passkey inline">
                                <input type="hidden" name="credential_id" value=k.credential_id.clone() />
                                <button type="submit" class="secondary">"Remove"</button>
                            </form>
                        </td>
                    </tr>
                } />
            <form id="add-passkey" class="stack">
                <label>"Name (which device)" <input name="name" required maxlength="64" placeholder="work laptop" /></label>
                <button type="submit">"Add a passkey"</button>
            </form>
        </section>
    }
}
