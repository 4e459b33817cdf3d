//! `POST /api/v1/plans/{id}/sign`: a challenge for one decision on a gate
//! that takes signed decisions — the SHA-256 of the document naming the
//! plan, the phase, the verdict, the evidence the approver sees and a
//! nonce — with the person's passkeys to answer it with.
use app::access::{Action, Principal};
use app::dto::plans::Verdict;
use app::error::AppError;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::rest::PlansApi;
use crate::api_error::ApiError;
use crate::audit::signed::decision_doc;
use crate::auth::passkeys;
use crate::caller::Call;
use app::service::PlanPort;

pub fn router() -> axum::Router<PlansApi> {
    axum::Router::new().route("/api/v1/plans/{id}/sign", axum::routing::post(sign))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignRequest {
    pub phase_id: String,
    /// `approve` or `reject`.
    pub verdict: String,
    /// The `evidence_hash` the approver sees.
    pub evidence: String,
}

/// `PublicKeyCredentialRequestOptions` (base64url binary fields) and the
/// nonce the decision names.
#[utoipa::path(post, path = "/api/v1/plans/{id}/sign", tag = "plans",
    params(("id" = String, Path)), request_body = SignRequest,
    responses((status = 200, body = Object), (status = 400), (status = 401), (status = 403), (status = 404)))]
pub async fn sign(
    Call(state, caller): Call<PlansApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    crate::json_body::JsonObject(req): crate::json_body::JsonObject<SignRequest>,
) -> Result<Json<Value>, ApiError> {
    let Principal::User { id: user_id, .. } = caller.require(Action::ApproveGates)?.clone() else {
        return Err(ApiError(AppError::Forbidden(
            "sign a decision: a person does".into(),
        )));
    };
    let verdict =
        Verdict::parse(&req.verdict).map_err(|e| AppError::Invalid(format!("verdict: {e}")))?;
    if verdict == Verdict::Override {
        return Err(ApiError(AppError::Invalid(
            "verdict: approve or reject".into(),
        )));
    }
    let plan = state.plans.plan(&caller, id.clone()).await?;
    let phase = plan
        .phases
        .iter()
        .find(|p| p.id == req.phase_id)
        .ok_or_else(|| AppError::NotFound(format!("phase {:?} of plan {id:?}", req.phase_id)))?;
    if !phase.signed {
        return Err(ApiError(AppError::Invalid(format!(
            "phase {:?}: its gate does not take signed decisions; decide as usual",
            phase.name
        ))));
    }
    let party = crate::auth::passkey_routes::party(&state.auth, &headers)?;
    let store = &state.auth.store;
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(crate::db::StoreError::from)
        .map_err(AppError::from)?;
    let keys = passkeys::of_user(&mut conn, &user_id)
        .await
        .map_err(AppError::from)?;
    drop(conn);
    if keys.is_empty() {
        return Err(ApiError(AppError::Invalid(
            "you have no passkey: register one (Account → Passkeys) to sign decisions".into(),
        )));
    }
    let evidence = req.evidence.trim().to_string();
    let c = passkeys::issue(
        store,
        &user_id,
        "decide",
        &party,
        |nonce| decision_doc(&id, &phase.id, verdict.as_str(), &evidence, nonce),
        crate::system::now_ms(),
    )
    .await
    .map_err(AppError::from)?;
    Ok(Json(json!({
        "nonce": c.nonce,
        "signed": c.binds,
        "publicKey": {
            "challenge": c.challenge,
            "rpId": party.rp_id,
            "allowCredentials": keys.iter().map(|k| json!({ "type": "public-key", "id": k.credential_id })).collect::<Vec<_>>(),
            "userVerification": "preferred",
            "timeout": 300_000,
        },
    })))
}
