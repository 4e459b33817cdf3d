//! The plan file: its TOML format and validation (`spec`), the definition
//! it gives with defaults applied, durations, the guardrail spec and the
//! built-in templates. Nothing here reads the store or the clock.
pub mod definition;
pub mod duration;
pub mod guardrail_spec;
pub mod parsed;
pub mod spec;
pub mod templates;

use sha2::{Digest, Sha256};

/// The SHA-256 of `text`, in hex: how the trail names a plan file.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Bytes in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
