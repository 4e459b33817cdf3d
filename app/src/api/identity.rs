//! Server functions of the signed-in person and the admin pages.
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::access::{Role, Scope};
use crate::dto::identity::{CreatedToken, CurrentUser, TokenSummary, UserSummary};
use crate::error::AppError;

#[server(endpoint = "current_user")]
pub async fn load_current_user() -> Result<Option<CurrentUser>, AppError> {
    crate::service::serve(async move |s, c| {
        let mut user = s.identity.current_user(&c).await?;
        if let Some(u) = user.as_mut() {
            u.waiting = s.plans.waiting(&c).await?.count();
        }
        Ok(user)
    })
    .await
}

#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    crate::service::serve(async move |s, c| s.identity.users(&c).await).await
}

/// Roles arrive as one checkbox each, so the form works before hydration.
#[server(endpoint = "user_create")]
pub async fn create_user(
    username: String,
    password: String,
    role_viewer: Option<String>,
    role_operator: Option<String>,
    role_approver: Option<String>,
    role_admin: Option<String>,
) -> Result<UserSummary, AppError> {
    let roles = checked([
        (role_viewer, Role::Viewer),
        (role_operator, Role::Operator),
        (role_approver, Role::Approver),
        (role_admin, Role::Admin),
    ]);
    crate::service::serve(async move |s, c| {
        s.identity.create_user(&c, username, password, roles).await
    })
    .await
}

#[server(endpoint = "user_set_disabled")]
pub async fn set_user_disabled(username: String, disabled: bool) -> Result<UserSummary, AppError> {
    crate::service::serve(async move |s, c| s.identity.set_disabled(&c, username, disabled).await)
        .await
}

#[server(endpoint = "tokens")]
pub async fn list_tokens() -> Result<Vec<TokenSummary>, AppError> {
    crate::service::serve(async move |s, c| s.identity.tokens(&c).await).await
}

/// Scopes arrive as one checkbox each (`audit:read` → `scope_audit_read`).
#[server(endpoint = "token_create")]
pub async fn create_token(
    name: String,
    scope_audit_read: Option<String>,
    scope_plans_read: Option<String>,
    scope_plans_write: Option<String>,
    scope_flags_read: Option<String>,
    environment: Option<String>,
) -> Result<CreatedToken, AppError> {
    let scopes = checked([
        (scope_audit_read, Scope::AuditRead),
        (scope_plans_read, Scope::PlansRead),
        (scope_plans_write, Scope::PlansWrite),
        (scope_flags_read, Scope::FlagsRead),
    ]);
    let environment = environment.filter(|e| !e.is_empty());
    crate::service::serve(async move |s, c| {
        s.identity.create_token(&c, name, scopes, environment).await
    })
    .await
}

#[server(endpoint = "token_revoke")]
pub async fn revoke_token(id: String) -> Result<TokenSummary, AppError> {
    crate::service::serve(async move |s, c| s.identity.revoke_token(&c, id).await).await
}

/// The values whose checkbox was ticked (a ticked box sends a value, an
/// unticked one nothing).
#[cfg(feature = "ssr")]
fn checked<T, const N: usize>(boxes: [(Option<String>, T); N]) -> Vec<T> {
    boxes
        .into_iter()
        .filter_map(|(ticked, value)| ticked.map(|_| value))
        .collect()
}

#[server(endpoint = "passkeys")]
pub async fn list_passkeys() -> Result<Vec<crate::dto::identity::PasskeySummary>, AppError> {
    crate::service::serve(async move |s, c| s.identity.passkeys(&c).await).await
}
