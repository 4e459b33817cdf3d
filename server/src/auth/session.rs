//! Browser sessions: what a session holds, the cookie it travels in, and the
//! idle and absolute timeouts, which the server enforces on every request.
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use super::session_store::ConsoleSessionStore;

/// The key under which the signed-in user is kept in the session.
pub const KEY: &str = "auth";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

impl Timeouts {
    pub fn from_secs(idle: u64, absolute: u64) -> Self {
        Timeouts {
            idle_ms: (idle as i64).saturating_mul(1000),
            absolute_ms: (absolute as i64).saturating_mul(1000),
        }
    }

    /// How stale `last_seen_ms` may get before it is written again: often
    /// enough to keep the idle timeout accurate, rarely enough not to write
    /// the session on every request.
    pub fn touch_every_ms(&self) -> i64 {
        (self.idle_ms / 10).min(60_000)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionData {
    pub user_id: String,
    pub login_at_ms: i64,
    pub last_seen_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid; `touch` says whether to write a new `last_seen_ms`.
    Live {
        touch: bool,
    },
    IdleTimeout,
    AbsoluteTimeout,
}

/// Judges a session at `now_ms`.
pub fn judge(data: &SessionData, timeouts: Timeouts, now_ms: i64) -> Verdict {
    if now_ms - data.login_at_ms >= timeouts.absolute_ms {
        Verdict::AbsoluteTimeout
    } else if now_ms - data.last_seen_ms >= timeouts.idle_ms {
        Verdict::IdleTimeout
    } else {
        Verdict::Live {
            touch: now_ms - data.last_seen_ms >= timeouts.touch_every_ms(),
        }
    }
}

/// The session layer. Over https the cookie is `Secure` and named with the
/// `__Host-` prefix, which also pins it to this host and path `/`.
pub fn layer(
    store: ConsoleSessionStore,
    timeouts: Timeouts,
    https: bool,
) -> SessionManagerLayer<ConsoleSessionStore> {
    let name = if https {
        "__Host-rollout_session"
    } else {
        "rollout_session"
    };
    SessionManagerLayer::new(store)
        .with_name(name)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(https)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::milliseconds(
            timeouts.idle_ms,
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_absolute_timeouts() {
        let t = Timeouts::from_secs(1800, 12 * 3600);
        let data = SessionData {
            user_id: "u".into(),
            login_at_ms: 0,
            last_seen_ms: 0,
        };
        assert_eq!(judge(&data, t, 1_000), Verdict::Live { touch: false });
        assert_eq!(judge(&data, t, 60_000), Verdict::Live { touch: true });
        assert_eq!(judge(&data, t, 1_800_000), Verdict::IdleTimeout);
        let busy = SessionData {
            last_seen_ms: 12 * 3_600_000 - 1,
            ..data.clone()
        };
        assert_eq!(
            judge(&busy, t, 12 * 3_600_000 - 1),
            Verdict::Live { touch: false }
        );
        assert_eq!(judge(&busy, t, 12 * 3_600_000), Verdict::AbsoluteTimeout);
    }

    #[test]
    fn short_idle_timeouts_touch_often() {
        assert_eq!(Timeouts::from_secs(2, 60).touch_every_ms(), 200);
        assert_eq!(Timeouts::from_secs(1800, 60).touch_every_ms(), 60_000);
    }
}
