//! Users (admins only): who can sign in with which roles; add people,
//! disable and enable them. The server refuses non-admins whatever the UI shows.
//! The forms work without JavaScript; in the browser they are sent with
//! fetch and the list is redrawn in place (`browser::live`).
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::access::Role;
use crate::api::identity::{list_users, CreateUser, SetUserDisabled};
use crate::dto::identity::UserSummary;
use crate::format::utc_datetime;
use crate::pages::listing::Listing;

#[component]
pub fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let toggle = ServerAction::<SetUserDisabled>::new();
    let users = Resource::new(
        move || (create.version().get(), toggle.version().get()),
        |_| list_users(),
    );
    view! {
        <Title text="Users" />
        <div class="live" id="live-users" data-live-region>
        <section class="card">
            <h1>"Users"</h1>
            <Listing list=users id="users" empty="No users."
                head=&["Username", "Roles", "Status", "Created (UTC)", ""]
                row=move |u: UserSummary| {
                    let disabled = u.disabled_at_ms.is_some();
                    let name = u.username.clone();
                    view! {
                        <tr data-username=u.username.clone()>
                            <td>{u.username.clone()}</td>
                            <td>{Role::join(&u.roles, ", ")}</td>
                            <td class=if disabled { "warn" } else { "ok" }>{if disabled { "disabled" } else { "active" }}</td>
                            <td class="nowrap">{utc_datetime(u.created_at_ms)}</td>
                            <td>
                                <ActionForm action=toggle attr:data-command="" attr:data-ok="">
                                    <input type="hidden" name="username" value=name.clone() />
                                    <input type="hidden" name="disabled" value=(!disabled).to_string() />
                                    <button type="submit" class="secondary">{if disabled { "Enable" } else { "Disable" }}</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                } />
            {move || toggle.value().get().and_then(|r| r.err()).map(|e| view! { <p class="error">{e.to_string()}</p> })}
        </section>
        </div>

        <section class="card">
            <h2>"Add a user"</h2>
            <ActionForm action=create attr:id="add-user" attr:class="stack" attr:data-command="" attr:data-ok="User added: they can sign in now.">
                <label>"Username" <input name="username" required maxlength="64" /></label>
                <label>"Password (12 to 128 characters)" <input name="password" type="password" required minlength="12" maxlength="128" autocomplete="new-password" /></label>
                <fieldset class="roles">
                    <legend>"Roles"</legend>
                    <label><input type="checkbox" name="role_viewer" value="on" checked /> "viewer"</label>
                    <label><input type="checkbox" name="role_operator" value="on" /> "operator"</label>
                    <label><input type="checkbox" name="role_approver" value="on" /> "approver"</label>
                    <label><input type="checkbox" name="role_admin" value="on" /> "admin"</label>
                </fieldset>
                <button type="submit">"Add user"</button>
            </ActionForm>
            <div aria-live="polite" data-live-outcome></div>
            {move || create.value().get().map(|r| match r {
                Ok(u) => view! { <p class="ok" id="add-user-result">"Added " {u.username} "."</p> }.into_any(),
                Err(e) => view! { <p class="error" id="add-user-result">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
