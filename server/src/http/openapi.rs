//! The OpenAPI document of the REST API, generated from the handlers and
//! DTOs, served at `/api/v1/openapi.json`.
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;
use crate::{audit, auth, flags, jobs, plans};

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
        plans::rest::sources,
        plans::rest::source_version,
        plans::rest::command,
        plans::rest::events,
        plans::inbox::inbox,
        plans::signing::sign,
        auth::passkey_routes::options,
        auth::passkey_routes::register,
        auth::passkey_routes::list,
        auth::passkey_routes::remove,
        plans::inbox::events,
        plans::rest::timeline,
        plans::rest::templates,
        flags::rest::evaluate,
        jobs::rest::start,
        jobs::rest::list,
        jobs::rest::pause,
        jobs::rest::cancel,
        jobs::rest::tune,
        jobs::rest::override_window,
        audit::export::list,
        audit::export::one,
        audit::export::verify,
        audit::export::export,
    ),
    components(schemas(crate::api_error::ErrorBody)),
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

/// The document as served: the handlers' own answers, plus the error
/// answers every operation can give, each of the one JSON shape, and what
/// only this console knows (its environments, its templates).
pub fn document(environments: &[String]) -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    with_this_console(&mut doc, environments);
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    with_error_answers(path, op);
                    never_null(op);
                }
            }
        }
    }
    doc
}

/// The values a request may name that the types alone do not state: the
/// configured environments, the built-in templates, the plan rules on a new
/// plan's name and flag key, the audit filter's time forms, an example plan
/// file for the TOML bodies.
fn with_this_console(doc: &mut serde_json::Value, environments: &[String]) {
    use serde_json::json;
    let envs = json!(environments);
    let schemas = &mut doc["components"]["schemas"];
    // Every error code, and what each means (`api_error::CODES`).
    let code = &mut schemas["ErrorBody"]["properties"]["code"];
    code["enum"] = json!(crate::api_error::CODES.map(|(c, _, _)| c));
    code["description"] = json!(crate::api_error::CODES
        .iter()
        .map(|(c, s, what)| format!("`{c}` ({}): {what}", s.as_u16()))
        .collect::<Vec<_>>()
        .join("; "));
    // A run's environment: a configured one, or empty / null / left out for
    // the plan's current phase's.
    schemas["StartRun"]["properties"]["environment"]["enum"] = {
        let mut e = environments.iter().map(|e| json!(e)).collect::<Vec<_>>();
        e.extend([json!(""), serde_json::Value::Null]);
        json!(e)
    };
    // The numbers a run may be started or retuned with: one source for the
    // check (backfill::pace) and the document. `whole::optional` reads them,
    // and refuses `null` (leave a field out instead).
    use crate::backfill::pace::{CHUNK_LIMITS, RATE_LIMITS};
    let whole = |p: &mut serde_json::Value, range: Option<&std::ops::RangeInclusive<i64>>| {
        p["type"] = json!("integer");
        if let Some(range) = range {
            p["minimum"] = json!(range.start());
            p["maximum"] = json!(range.end());
        }
    };
    whole(
        &mut schemas["StartRun"]["properties"]["chunk"],
        Some(&CHUNK_LIMITS),
    );
    whole(&mut schemas["StartRun"]["properties"]["resume_from"], None);
    whole(
        &mut schemas["Tune"]["properties"]["chunk"],
        Some(&CHUNK_LIMITS),
    );
    whole(
        &mut schemas["Tune"]["properties"]["max_rows_per_sec"],
        Some(&RATE_LIMITS),
    );
    // A retune changes at least one of the two.
    schemas["Tune"]["anyOf"] =
        json!([{ "required": ["chunk"] }, { "required": ["max_rows_per_sec"] }]);
    // A command's environment (allow, disallow) is a configured one; an
    // entity id (plans/file/spec/pilot.rs `bad_entity`) is not blank, has no
    // control character and at most MAX_ENTITY characters.
    let entity = json!({
        "type": "string",
        "maxLength": crate::plans::file::spec::pilot::MAX_ENTITY,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
    });
    if let Some(variants) = schemas["PlanCommand"]["oneOf"].as_array_mut() {
        for v in variants {
            let props = &mut v["properties"];
            if props.get("environment").is_some() {
                props["environment"]["enum"] = envs.clone();
            }
            match props["command"]["enum"][0].as_str() {
                Some("allow") => {
                    props["entities"]["items"] = entity.clone();
                    props["entities"]["minItems"] = json!(1);
                }
                Some("disallow" | "restore") => props["entity"] = entity.clone(),
                _ => {}
            }
        }
    }
    let templates: Vec<&str> = crate::plans::file::templates::TEMPLATES
        .iter()
        .map(|t| t.slug)
        .collect();
    schemas["NewPlan"]["properties"]["template"]["enum"] = json!(templates);
    // The plan rules (plans/file/spec/mod.rs): a name that is not blank, a flag key of
    // 1 to 64 of a-z, 0-9, '_', '-', '.'.
    schemas["NewPlan"]["properties"]["name"]["pattern"] = json!("\\S");
    // (Surrounding blanks are trimmed, as on the page's form.)
    schemas["NewPlan"]["properties"]["flag_key"]["pattern"] = json!("^\\s*[a-z0-9_.-]{1,64}\\s*$");
    let example = crate::plans::file::templates::TEMPLATES[0].toml;
    for op in ["post", "put"] {
        let path = if op == "post" {
            "/api/v1/plans"
        } else {
            "/api/v1/plans/{id}/source"
        };
        let toml = &mut doc["paths"][path][op]["requestBody"]["content"]["application/toml"];
        toml["example"] = json!(example);
        // A plan file (docs/plan-format.md): more than a JSON Schema can say,
        // so it has a format of its own (the contract test generates real
        // plan files for it).
        toml["schema"]["format"] = json!("plan-toml");
        toml["schema"]["minLength"] = json!(1);
        toml["schema"]["description"] =
            json!("a plan file in TOML (docs/plan-format.md); every problem is answered as LINE:COLUMN: field: message");
    }
    // RFC 3339, a UTC day, unix milliseconds, or empty for no bound (what
    // the audit page's form sends for a field left blank).
    let times = json!({
        "anyOf": [
            { "type": "string", "maxLength": 0 },
            { "type": "string", "format": "date-time" },
            { "type": "string", "format": "date" },
            { "type": "string", "pattern": "^[0-9]{1,15}$" }
        ]
    });
    for path in ["/api/v1/audit/events", "/api/v1/audit/export"] {
        if let Some(params) = doc["paths"][path]["get"]["parameters"].as_array_mut() {
            for p in params
                .iter_mut()
                .filter(|p| p["name"] == "from" || p["name"] == "to")
            {
                p["schema"] = times.clone();
            }
        }
    }
    if let Some(params) =
        doc["paths"]["/api/v1/flags/{key}/evaluate"]["get"]["parameters"].as_array_mut()
    {
        for p in params.iter_mut().filter(|p| p["name"] == "environment") {
            p["schema"]["enum"] = envs.clone();
        }
    }
}

/// A parameter is given or left out, never `null`: an optional one's schema
/// is its type alone (utoipa writes an `Option`'s as `[type, "null"]`).
fn never_null(op: &mut serde_json::Value) {
    let parameters = op.get_mut("parameters").and_then(|p| p.as_array_mut());
    for p in parameters.into_iter().flatten() {
        if let Some(types) = p["schema"]["type"].as_array() {
            let named: Vec<_> = types.iter().filter(|t| *t != "null").cloned().collect();
            if let [one] = named.as_slice() {
                p["schema"]["type"] = one.clone();
            }
        }
    }
}

/// Adds to one operation the errors any request may meet on the way to its
/// handler, and gives every error answer the `ErrorBody` schema.
fn with_error_answers(path: &str, op: &mut serde_json::Value) {
    let mut common = vec![
        (
            "400",
            "the request breaks a rule: the message says which and how to fix it",
        ),
        ("401", "no valid session or API token"),
        ("403", "the caller's role or token scopes do not allow this"),
    ];
    if path.contains('{') {
        common.push(("404", "nothing by that id or name"));
    }
    if op.get("requestBody").is_some() {
        common.push(("413", "the body is larger than 2 MiB"));
        common.push(("415", "the body is not of the documented content type"));
    }
    let responses = op["responses"]
        .as_object_mut()
        .expect("every operation has responses");
    for (status, description) in common {
        responses
            .entry(status)
            .or_insert_with(|| serde_json::json!({ "description": description }));
    }
    for (status, answer) in responses.iter_mut() {
        if status.starts_with('4') || status.starts_with('5') {
            answer["content"] = serde_json::json!({
                "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } }
            });
        }
    }
}

pub fn router(environments: &[String]) -> Router<AppState> {
    // Serialized once: the document is the same for every request.
    let doc = axum::body::Bytes::from(
        serde_json::to_vec(&document(environments)).expect("the OpenAPI document serializes"),
    );
    Router::new().route(
        "/api/v1/openapi.json",
        get(move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                doc.clone(),
            )
        }),
    )
}
