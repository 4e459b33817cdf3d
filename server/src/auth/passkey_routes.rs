//! REST for a person's passkeys: the options to create one (a challenge),
//! registering what the browser made, listing and removing them.
use app::access::{Action, Principal};
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::passkeys::{self, NewPasskey, Party, Passkey};
use super::{client_of, AuthState};
use crate::api_error::ApiError;
use crate::caller::Call;
use crate::system::now_ms;
use app::error::AppError;

pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/api/v1/me/passkeys", get(list).post(register))
        .route("/api/v1/me/passkeys/options", post(options))
        .route("/api/v1/me/passkeys/{credential_id}", delete(remove))
}

/// Where ceremonies happen: the console's own origin.
pub fn party(state: &AuthState, headers: &HeaderMap) -> Result<Party, ApiError> {
    super::csrf::own_origin(state.public_origin.as_deref(), headers)
        .and_then(|o| Party::of(&o))
        .ok_or_else(|| {
            ApiError(AppError::Invalid(
                "the console's origin is unknown: send a Host header or set public_url".into(),
            ))
        })
}

fn person(caller: &app::service::Caller) -> Result<(String, String), ApiError> {
    match caller.require(Action::ViewConsole)? {
        Principal::User { id, username, .. } => Ok((id.clone(), username.clone())),
        Principal::Token { .. } => Err(ApiError(AppError::Forbidden(
            "use passkeys: a person does, not a token".into(),
        ))),
    }
}

/// `PublicKeyCredentialCreationOptions` with base64url binary fields.
#[utoipa::path(post, path = "/api/v1/me/passkeys/options", tag = "identity",
    responses((status = 200, body = Object), (status = 401)))]
pub async fn options(
    Call(state, caller): Call<AuthState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (id, username) = person(&caller)?;
    let party = party(&state, &headers)?;
    let c = passkeys::issue(
        &state.store,
        &id,
        "register",
        &party,
        |_| String::new(),
        now_ms(),
    )
    .await
    .map_err(AppError::from)?;
    let mut conn = state
        .store
        .pool()
        .acquire()
        .await
        .map_err(crate::db::StoreError::from)
        .map_err(AppError::from)?;
    let existing = passkeys::of_user(&mut conn, &id)
        .await
        .map_err(AppError::from)?;
    Ok(Json(json!({
        "nonce": c.nonce,
        "publicKey": {
            "challenge": c.challenge,
            "rp": { "id": party.rp_id, "name": "Rollout Console" },
            "user": { "id": crate::webauthn::b64url(id.as_bytes()), "name": username, "displayName": username },
            "pubKeyCredParams": [ { "type": "public-key", "alg": crate::webauthn::ES256 } ],
            "excludeCredentials": existing.iter().map(|k| json!({ "type": "public-key", "id": k.credential_id })).collect::<Vec<_>>(),
            "authenticatorSelection": { "residentKey": "preferred", "userVerification": "preferred" },
            "attestation": "none",
            "timeout": 300_000,
        },
    })))
}

#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "identity",
    request_body = NewPasskey,
    responses((status = 200, body = Passkey), (status = 400), (status = 401)))]
pub async fn register(
    Call(state, caller): Call<AuthState>,
    crate::json_body::JsonObject(new): crate::json_body::JsonObject<NewPasskey>,
) -> Result<Json<Passkey>, ApiError> {
    let who = caller.require(Action::ViewConsole)?.clone();
    let key = passkeys::register(&state.store, &who, &client_of(&caller), new, now_ms())
        .await
        .map_err(AppError::from)?;
    Ok(Json(key))
}

#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "identity",
    responses((status = 200, body = Vec<Passkey>), (status = 401)))]
pub async fn list(Call(state, caller): Call<AuthState>) -> Result<Json<Vec<Passkey>>, ApiError> {
    let (id, _) = person(&caller)?;
    let mut conn = state
        .store
        .pool()
        .acquire()
        .await
        .map_err(crate::db::StoreError::from)
        .map_err(AppError::from)?;
    Ok(Json(
        passkeys::of_user(&mut conn, &id)
            .await
            .map_err(AppError::from)?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/me/passkeys/{credential_id}", tag = "identity",
    params(("credential_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)))]
pub async fn remove(
    Call(state, caller): Call<AuthState>,
    Path(credential_id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let who = caller.require(Action::ViewConsole)?.clone();
    passkeys::remove(
        &state.store,
        &who,
        &client_of(&caller),
        &credential_id,
        now_ms(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
