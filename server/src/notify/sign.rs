//! Signing a delivery the Standard Webhooks way
//! (<https://www.standardwebhooks.com>): `webhook-id`, `webhook-timestamp`
//! (unix seconds) and `webhook-signature: v1,BASE64` where the signature is
//! HMAC-SHA256, keyed with the endpoint's secret, over `ID.TIMESTAMP.BODY`.
//! A receiver checks it with any Standard Webhooks library, or in a few lines
//! (docs/notifications.md).
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// An endpoint's signing key: `whsec_` and base64, as Standard Webhooks
/// libraries take it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// Reads `whsec_BASE64`; says what is wrong without repeating the text.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let encoded = text.trim().strip_prefix("whsec_").ok_or(
            "a signing secret starts with whsec_ followed by base64 (e.g. whsec_ and `openssl rand -base64 32`)",
        )?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "the part after whsec_ is not base64".to_string())?;
        if key.len() < 16 {
            return Err(format!(
                "the key is {} bytes; use at least 16 (e.g. `openssl rand -base64 32`)",
                key.len()
            ));
        }
        Ok(Secret(key))
    }

    /// The `webhook-signature` header's value for this delivery.
    pub fn signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's own example
    /// (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
    #[test]
    fn signs_the_specifications_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_says_what_is_wrong_without_repeating_it() {
        let e = Secret::parse("hunter2-is-my-password").unwrap_err();
        assert!(e.contains("whsec_") && !e.contains("hunter2"), "{e}");
        assert!(Secret::parse("whsec_!!!")
            .unwrap_err()
            .contains("not base64"));
        assert!(Secret::parse("whsec_c2hvcnQ=").unwrap_err().contains("16"));
    }
}
