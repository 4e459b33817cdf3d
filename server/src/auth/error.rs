//! The identity layer's errors (their kinds: `error_kind`).
crate::layer_error!(IdentityError);
