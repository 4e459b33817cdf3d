//! The error type every server function returns to the browser. Internal
//! causes are logged on the server and never travel in it.
use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please sign in")]
    Unauthenticated,
    #[error("you are not allowed to {0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// A lost race or a stale view (the plan changed since it was opened):
    /// reload and try again.
    #[error("{0}")]
    Conflict(String),
    /// Something the console depends on (a target database) is not
    /// answering; try again later.
    #[error("{0}")]
    Unavailable(String),
    #[error("the server could not complete the request; the cause has been logged")]
    Internal,
    #[error("request failed: {0}")]
    Transport(ServerFnErrorErr),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value)
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// The HTTP status that says whose fault it is: the page, the server
    /// function and the REST API all answer with it.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Invalid(_) | AppError::Transport(_) => StatusCode::BAD_REQUEST,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
