//! One error taxonomy. Every layer's error enum says once, in `kind`, what
//! sort of failure each variant is; this file is the one place a kind
//! becomes the browser's `AppError` (whose `status` is the one place it
//! becomes an HTTP status) and the CLI's exit code. Internal causes are
//! logged here, once, and never sent.
use app::error::{AppError, Conflict};

use crate::db::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input or the request breaks a rule; the message says how to fix it.
    Invalid,
    /// The message names what does not exist.
    NotFound,
    /// The request is right but the state does not let it through now
    /// (a stale revision, a lost race, a name taken, a state that must
    /// change first).
    Conflict(Conflict),
    Forbidden,
    /// Something the console depends on (a target database) is not answering.
    Unavailable,
    /// The console's own fault; the cause is logged, never shown.
    Internal,
}

impl Kind {
    /// Whether the person who asked can fix it (their input, their rights,
    /// a reload), rather than wait for or repair the console.
    pub fn user_can_fix(self) -> bool {
        match self {
            Kind::Invalid | Kind::NotFound | Kind::Conflict(_) | Kind::Forbidden => true,
            Kind::Unavailable | Kind::Internal => false,
        }
    }

    /// The command line's exit code: 2 for what the user can fix, 1 otherwise.
    pub fn exit_code(self) -> u8 {
        if self.user_can_fix() {
            2
        } else {
            1
        }
    }

    /// The kind of an answer the ports already gave (a command that drives
    /// the ports itself, such as `demo history`, gets `AppError`s).
    pub fn of_app_error(e: &AppError) -> Kind {
        match e {
            AppError::Invalid(_) | AppError::Transport(_) => Kind::Invalid,
            AppError::NotFound(_) => Kind::NotFound,
            AppError::Conflict(c, _) => Kind::Conflict(*c),
            AppError::Unauthenticated | AppError::Forbidden(_) => Kind::Forbidden,
            AppError::Unavailable(_) => Kind::Unavailable,
            AppError::Internal => Kind::Internal,
        }
    }
}

/// A layer's error: its message (`Display`) and its kind.
pub trait Classify: std::fmt::Display {
    fn kind(&self) -> Kind;
}

impl Classify for StoreError {
    fn kind(&self) -> Kind {
        Kind::Internal
    }
}

/// The answer a caller gets for `e`: the message for what they can act on,
/// a bare "internal" (the cause logged) for the rest.
pub fn app_error<E: Classify>(e: E) -> AppError {
    let message = e.to_string();
    match e.kind() {
        Kind::Invalid => AppError::Invalid(message),
        Kind::NotFound => AppError::NotFound(message.trim_end_matches(" not found").to_string()),
        Kind::Conflict(c) => AppError::Conflict(c, message),
        Kind::Forbidden => AppError::Forbidden(message),
        Kind::Unavailable => AppError::Unavailable(message),
        Kind::Internal => {
            tracing::error!(error = %message, "internal failure");
            AppError::Internal
        }
    }
}

/// `impl From<E> for AppError` through `app_error`, for each layer error
/// (a blanket impl is not allowed: `AppError` lives in another crate).
#[macro_export]
macro_rules! into_app_error {
    ($($error:ty),+ $(,)?) => {$(
        impl From<$error> for app::error::AppError {
            fn from(e: $error) -> Self {
                $crate::error_kind::app_error(e)
            }
        }
    )+};
}

/// A bare database error is the console's own failure.
impl Classify for sqlx::Error {
    fn kind(&self) -> Kind {
        Kind::Internal
    }
}

into_app_error!(StoreError);

/// A layer's error enum of the four common kinds (invalid input, not found,
/// conflict, the store failed), plus the layer's own variants each with its
/// kind (`{ Variant { fields } => Kind, }`), with its `Classify` and
/// `AppError` conversions.
#[macro_export]
macro_rules! layer_error {
    ($(#[$meta:meta])* $name:ident $({
        $($(#[$vmeta:meta])* $variant:ident $fields:tt => $kind:ident,)*
    })?) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            /// The input or the request breaks a rule; the message says
            /// which and how to fix it.
            #[error("{0}")]
            Invalid(String),
            #[error("{0} not found")]
            NotFound(String),
            /// The request is right but the state does not let it
            /// through now: the first field says why.
            #[error("{1}")]
            Conflict(app::error::Conflict, String),
            /// The caller may not do this; the message completes "you are
            /// not allowed to …".
            #[error("{0}")]
            Forbidden(String),
            #[error(transparent)]
            Store(#[from] $crate::db::StoreError),
            $($($(#[$vmeta])* $variant $fields,)*)?
        }

        impl From<sqlx::Error> for $name {
            fn from(e: sqlx::Error) -> Self {
                $name::Store($crate::db::StoreError::Query(e))
            }
        }

        impl $crate::error_kind::Classify for $name {
            fn kind(&self) -> $crate::error_kind::Kind {
                use $crate::error_kind::Kind;
                match self {
                    $name::Invalid(_) => Kind::Invalid,
                    $name::NotFound(_) => Kind::NotFound,
                    $name::Conflict(c, _) => Kind::Conflict(*c),
                    $name::Forbidden(_) => Kind::Forbidden,
                    $name::Store(_) => Kind::Internal,
                    $($($name::$variant { .. } => Kind::$kind,)*)?
                }
            }
        }

        $crate::into_app_error!($name);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct E(&'static str, Kind);
    impl Classify for E {
        fn kind(&self) -> Kind {
            self.1
        }
    }

    #[test]
    fn each_kind_has_its_status_and_exit_code() {
        use axum::http::StatusCode as S;
        let cases = [
            (Kind::Invalid, S::BAD_REQUEST, 2),
            (Kind::NotFound, S::NOT_FOUND, 2),
            (Kind::Conflict(Conflict::LostRace), S::CONFLICT, 2),
            (Kind::Forbidden, S::FORBIDDEN, 2),
            (Kind::Unavailable, S::SERVICE_UNAVAILABLE, 1),
            (Kind::Internal, S::INTERNAL_SERVER_ERROR, 1),
        ];
        for (kind, status, code) in cases {
            assert_eq!(app_error(E("x", kind)).status(), status, "{kind:?}");
            assert_eq!(kind.exit_code(), code, "{kind:?}");
        }
    }

    #[test]
    fn internal_causes_are_never_sent() {
        let sent = app_error(E("password=hunter2 at db.internal", Kind::Internal)).to_string();
        assert!(!sent.contains("hunter2"), "{sent}");
        assert_eq!(
            app_error(E("job \"x\" not found", Kind::NotFound)).to_string(),
            "job \"x\" not found"
        );
    }
}
