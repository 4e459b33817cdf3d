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
    /// The request is right but the console's state does not let it
    /// through now; the first field says why (the REST API's `code`).
    #[error("{1}")]
    Conflict(Conflict, String),
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

/// Why a request conflicts with the console's state: what the caller
/// should do differs, so a client can tell them apart by the REST API's
/// `code` without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conflict {
    /// It changed since the caller read it (a plan's revision): reload it
    /// and apply the change again.
    StaleRevision,
    /// Another request changed it at the same moment: try again.
    LostRace,
    /// The name or the decision already exists.
    AlreadyExists,
    /// Its state does not allow this now (a phase still soaking, a
    /// completed plan, a run driven by another process): the message says
    /// what must happen first.
    WrongState,
    /// A destructive command's confirmation (the plan's name, typed) does
    /// not match the plan as it stands: nothing was done.
    NotConfirmed,
}

impl Conflict {
    /// The REST API's `code` for it.
    pub fn code(self) -> &'static str {
        match self {
            Conflict::StaleRevision => "stale_revision",
            Conflict::LostRace => "lost_race",
            Conflict::AlreadyExists => "already_exists",
            Conflict::WrongState => "wrong_state",
            Conflict::NotConfirmed => "not_confirmed",
        }
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
            AppError::Conflict(..) => StatusCode::CONFLICT,
            AppError::Invalid(_) | AppError::Transport(_) => StatusCode::BAD_REQUEST,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
