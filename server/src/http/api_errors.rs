//! Every error answer of the REST API (`/api/…`) is JSON of one shape,
//! `{"error": "…", "code": "…"}`, whoever wrote it: the handlers (through `ApiError`),
//! and also axum's own rejections (a body that does not parse, a missing
//! content type, an unknown path, a method the path does not take), which
//! answer in plain text. Those are rewritten here; a body that is not JSON
//! is a 400, like every other bad input.
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The most of a plain-text error body that is kept as the message.
const MESSAGE_BYTES: usize = 2_000;

pub async fn json_errors(req: Request<Body>, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let status = res.status();
    if !api || !(status.is_client_error() || status.is_server_error()) || is_json(&res) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = to_bytes(body, MESSAGE_BYTES * 2)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (status, message) = match status {
        StatusCode::NOT_FOUND => (
            status,
            bounded(&format!(
                "no such endpoint: {method} {path}; the API is described at /api/v1/openapi.json"
            )),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (
                status,
                format!("{path} does not take {method}; it takes {allowed}"),
            )
        }
        // axum's JSON rejections: well-formed JSON of the wrong shape (422)
        // is bad input like any other.
        StatusCode::UNPROCESSABLE_ENTITY => (StatusCode::BAD_REQUEST, rejection(&text)),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            status,
            format!(
                "{}; send the body with the content type the API documents",
                bounded(&text)
            ),
        ),
        _ if status.is_server_error() => (
            status,
            "the server could not complete the request; the cause has been logged".to_string(),
        ),
        _ => (status, rejection(&text)),
    };
    let mut answer = crate::api_error::answer(status, message);
    // Allow, the request id, the security headers: kept.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// axum's rejection text, saying where the problem is in the request's own
/// words: "body: mode: unknown variant …", "query: hours: invalid digit …".
fn rejection(text: &str) -> String {
    let text = text
        .replace(
            "Failed to deserialize the JSON body into the target type: ",
            "body: ",
        )
        .replace(
            "Failed to parse the request body as JSON: ",
            "body: not JSON: ",
        )
        .replace("Failed to deserialize query string: ", "query: ")
        .replace("Invalid URL: ", "path: ");
    bounded(&text)
}

/// One line, at most `MESSAGE_BYTES`, never empty.
fn bounded(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut line = if line.is_empty() {
        "the request was refused".to_string()
    } else {
        line
    };
    if line.len() > MESSAGE_BYTES {
        let mut cut = MESSAGE_BYTES;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn rejections_name_the_part_of_the_request() {
        assert_eq!(
            super::rejection("Failed to deserialize the JSON body into the target type: mode: unknown variant `x` at line 1 column 11"),
            "body: mode: unknown variant `x` at line 1 column 11"
        );
        assert_eq!(
            super::rejection(
                "Failed to deserialize query string: hours: invalid digit found in string"
            ),
            "query: hours: invalid digit found in string"
        );
    }

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(bounded("  a\n b  "), "a b");
        assert_eq!(bounded(""), "the request was refused");
        let long = "é".repeat(3_000);
        let b = bounded(&long);
        assert!(b.len() <= 2_000 + '…'.len_utf8());
        assert!(b.ends_with('…'));
    }
}
