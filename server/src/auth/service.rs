//! The identity port: the signed-in person, and the admin's user and token
//! management. Every method authorizes first.
use app::access::{Action, Principal, Role, Scope};
use app::dto::identity::{CreatedToken, CurrentUser, TokenSummary, UserSummary};
use app::error::AppError;
use app::service::{Caller, IdentityPort};

use super::{actor_of, client_of, tokens, users};
use crate::db::Store;

#[derive(Clone)]
pub struct IdentityService {
    store: Store,
    /// The console's environments (a flags token is bound to one).
    environments: Vec<String>,
}

impl IdentityService {
    pub fn new(store: Store, environments: Vec<String>) -> Self {
        IdentityService {
            store,
            environments,
        }
    }
}

#[async_trait::async_trait]
impl IdentityPort for IdentityService {
    async fn current_user(&self, caller: &Caller) -> Result<Option<CurrentUser>, AppError> {
        Ok(match &caller.principal {
            Some(Principal::User {
                id,
                username,
                roles,
            }) => Some(CurrentUser {
                id: id.clone(),
                username: username.clone(),
                roles: roles.clone(),
                waiting: 0,
            }),
            _ => None,
        })
    }

    async fn passkeys(
        &self,
        caller: &Caller,
    ) -> Result<Vec<app::dto::identity::PasskeySummary>, AppError> {
        let Principal::User { id, .. } = caller.require(Action::ViewConsole)? else {
            return Ok(Vec::new());
        };
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(crate::db::StoreError::from)?;
        Ok(super::passkeys::of_user(&mut conn, id)
            .await?
            .into_iter()
            .map(|k| app::dto::identity::PasskeySummary {
                credential_id: k.credential_id,
                name: k.name,
                created_ms: k.created_ms,
                last_used_ms: k.last_used_ms,
            })
            .collect())
    }

    async fn users(&self, caller: &Caller) -> Result<Vec<UserSummary>, AppError> {
        caller.require(Action::ManageUsers)?;
        Ok(users::list(&self.store).await?)
    }

    async fn create_user(
        &self,
        caller: &Caller,
        username: String,
        password: String,
        roles: Vec<Role>,
    ) -> Result<UserSummary, AppError> {
        let who = caller.require(Action::ManageUsers)?;
        Ok(users::create(
            &self.store,
            &actor_of(who),
            &client_of(caller),
            &username,
            &password,
            &roles,
        )
        .await?)
    }

    async fn set_disabled(
        &self,
        caller: &Caller,
        username: String,
        disabled: bool,
    ) -> Result<UserSummary, AppError> {
        let who = caller.require(Action::ManageUsers)?;
        Ok(users::set_disabled(
            &self.store,
            &actor_of(who),
            &client_of(caller),
            &username,
            disabled,
        )
        .await?)
    }

    async fn tokens(&self, caller: &Caller) -> Result<Vec<TokenSummary>, AppError> {
        caller.require(Action::ManageTokens)?;
        Ok(tokens::list(&self.store).await?)
    }

    async fn create_token(
        &self,
        caller: &Caller,
        name: String,
        scopes: Vec<Scope>,
        environment: Option<String>,
    ) -> Result<CreatedToken, AppError> {
        let who = caller.require(Action::ManageTokens)?;
        Ok(tokens::create(
            &self.store,
            &actor_of(who),
            &client_of(caller),
            &name,
            &scopes,
            environment.as_deref(),
            &self.environments,
        )
        .await?)
    }

    async fn revoke_token(&self, caller: &Caller, id: String) -> Result<TokenSummary, AppError> {
        let who = caller.require(Action::ManageTokens)?;
        Ok(tokens::revoke(&self.store, &actor_of(who), &client_of(caller), &id).await?)
    }
}
