//! The OpenAPI document of the REST API, generated from the handlers and
//! DTOs, served at `/api/v1/openapi.json`.
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;
use crate::{audit, backfill, flags, plans};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rollout Console API",
        description = "Rollout plans, gates, flags and the audit trail. Authenticate with `Authorization: Bearer <token>` (tokens carry scopes) or a browser session."
    ),
    paths(
        plans::rest::list,
        plans::rest::import,
        plans::rest::create,
        plans::rest::one,
        plans::rest::source,
        plans::rest::save_source,
        plans::rest::command,
        plans::rest::events,
        plans::rest::timeline,
        plans::rest::templates,
        flags::rest::evaluate,
        backfill::rest::start,
        backfill::rest::list,
        backfill::rest::pause,
        backfill::rest::cancel,
        backfill::rest::tune,
        audit::export::list,
        audit::export::one,
        audit::export::verify,
        audit::export::export,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/v1/openapi.json",
        get(|| async { Json(ApiDoc::openapi()) }),
    )
}
