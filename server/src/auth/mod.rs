//! Identity: users and roles, passwords, sessions, API tokens, sign-in with
//! throttling, CSRF protection, and the caller every request carries.
pub mod bootstrap;
pub mod csrf;
pub mod error;
pub mod login;
pub mod middleware;
pub mod passkey_routes;
pub mod passkeys;
pub mod password;
pub mod routes;
pub mod service;
pub mod session;
pub mod session_store;
pub mod throttle;
pub mod tokens;
pub mod user_rows;
pub mod users;

use app::access::Principal;
use app::service::Caller;

use crate::audit::{Actor, ClientInfo};

pub use service::IdentityService;

/// What identity's middleware and routes need of the application's state.
#[derive(Clone)]
pub struct AuthState {
    pub store: crate::db::Store,
    pub sessions: session_store::ConsoleSessionStore,
    pub timeouts: session::Timeouts,
    /// `public_url`'s origin, when set; the one origin state changes may come from.
    pub public_origin: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: std::sync::Arc<Vec<std::net::IpAddr>>,
}

/// The audit trail's actor for a principal.
pub fn actor_of(principal: &Principal) -> Actor {
    match principal {
        Principal::User { id, username, .. } => Actor::User {
            id: id.clone(),
            name: username.clone(),
        },
        Principal::Token { id, name, .. } => Actor::Token {
            id: id.clone(),
            name: name.clone(),
        },
    }
}

pub fn client_of(caller: &Caller) -> ClientInfo {
    ClientInfo {
        addr: caller.client_addr.clone(),
        user_agent: caller.user_agent.clone(),
    }
}
