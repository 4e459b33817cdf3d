//! WebAuthn, as much as passkey-signed decisions need, checked with the
//! stored public key directly (so the challenge can be anything the server
//! chooses: a hash that commits to a decision). Registration reads the
//! credential's id and public key from the attestation object (attestation
//! statements are not judged: the console trusts a key because a signed-in
//! person registered it, not because of who made the authenticator);
//! an assertion is checked as the specification says (§7.2): its type,
//! challenge and origin, the relying party's hash, user presence, and the
//! ES256 signature over `authenticatorData ‖ SHA-256(clientDataJSON)`.
//! Pure functions: `audit verify` runs them offline on an export.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::value::Value as Cbor;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// COSE algorithm ES256 (ECDSA with P-256 and SHA-256).
pub const ES256: i64 = -7;

const USER_PRESENT: u8 = 0x01;
const ATTESTED: u8 = 0x40;

/// What the ceremony must match.
pub struct Expect<'a> {
    pub rp_id: &'a str,
    pub origin: &'a str,
    pub challenge: &'a [u8],
}

/// A newly registered credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub credential_id: Vec<u8>,
    /// The COSE_Key as the authenticator sent it.
    pub public_key: Vec<u8>,
    pub sign_count: u32,
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn from_b64url(field: &str, text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .map_err(|_| format!("{field}: not base64url"))
}

/// Checks a registration (`navigator.credentials.create`) and returns the
/// credential it made.
pub fn verify_registration(
    client_data_json: &[u8],
    attestation_object: &[u8],
    e: &Expect,
) -> Result<Registered, String> {
    check_client_data(client_data_json, "webauthn.create", e)?;
    let object: Cbor = ciborium::from_reader(attestation_object)
        .map_err(|_| "attestationObject: not CBOR".to_string())?;
    let auth_data = map_get(&object, "authData")
        .and_then(Cbor::as_bytes)
        .ok_or("attestationObject: no authData")?;
    let (flags, sign_count) = check_auth_data(auth_data, e.rp_id)?;
    if flags & ATTESTED == 0 {
        return Err("authenticatorData: no attested credential".into());
    }
    let rest = &auth_data[37..];
    if rest.len() < 18 {
        return Err("authenticatorData: attested credential data cut short".into());
    }
    let id_len = u16::from_be_bytes([rest[16], rest[17]]) as usize;
    let id = rest
        .get(18..18 + id_len)
        .ok_or("authenticatorData: credential id cut short")?;
    let key_bytes = &rest[18 + id_len..];
    // The key is one CBOR item; extensions may follow it.
    let mut cursor = std::io::Cursor::new(key_bytes);
    let key: Cbor = ciborium::from_reader(&mut cursor)
        .map_err(|_| "credentialPublicKey: not CBOR".to_string())?;
    let used = cursor.position() as usize;
    let public_key = key_bytes[..used].to_vec();
    verifying_key(&key)?;
    Ok(Registered {
        credential_id: id.to_vec(),
        public_key,
        sign_count,
    })
}

/// Checks an assertion (`navigator.credentials.get`) made with the key
/// `public_key` (COSE) over `e.challenge`; returns its signature counter.
pub fn verify_assertion(
    public_key: &[u8],
    authenticator_data: &[u8],
    client_data_json: &[u8],
    signature: &[u8],
    e: &Expect,
) -> Result<u32, String> {
    check_client_data(client_data_json, "webauthn.get", e)?;
    let (_, sign_count) = check_auth_data(authenticator_data, e.rp_id)?;
    let key: Cbor =
        ciborium::from_reader(public_key).map_err(|_| "public key: not CBOR".to_string())?;
    let key = verifying_key(&key)?;
    let signature = Signature::from_der(signature)
        .map_err(|_| "signature: not a DER ECDSA signature".to_string())?;
    let mut signed = authenticator_data.to_vec();
    signed.extend_from_slice(&Sha256::digest(client_data_json));
    key.verify(&signed, &signature)
        .map_err(|_| "signature: does not verify with the registered key".to_string())?;
    Ok(sign_count)
}

fn check_client_data(json: &[u8], kind: &str, e: &Expect) -> Result<(), String> {
    let data: serde_json::Value =
        serde_json::from_slice(json).map_err(|_| "clientDataJSON: not JSON".to_string())?;
    let field = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    if field("type") != kind {
        return Err(format!(
            "clientDataJSON: type is {:?}, not {kind:?}",
            field("type")
        ));
    }
    if from_b64url("clientDataJSON.challenge", field("challenge"))? != e.challenge {
        return Err("clientDataJSON: signed another challenge than this one".into());
    }
    if field("origin") != e.origin {
        return Err(format!(
            "clientDataJSON: made on {:?}, not on {:?}",
            field("origin"),
            e.origin
        ));
    }
    Ok(())
}

/// The flags and signature counter, once the relying party and the user's
/// presence are right.
fn check_auth_data(auth_data: &[u8], rp_id: &str) -> Result<(u8, u32), String> {
    if auth_data.len() < 37 {
        return Err("authenticatorData: shorter than 37 bytes".into());
    }
    if auth_data[..32] != Sha256::digest(rp_id.as_bytes())[..] {
        return Err(format!(
            "authenticatorData: made for another relying party than {rp_id:?}"
        ));
    }
    let flags = auth_data[32];
    if flags & USER_PRESENT == 0 {
        return Err("authenticatorData: the user was not present".into());
    }
    let count = u32::from_be_bytes([auth_data[33], auth_data[34], auth_data[35], auth_data[36]]);
    Ok((flags, count))
}

/// An ES256 COSE_Key as a P-256 key; anything else is refused by name.
fn verifying_key(key: &Cbor) -> Result<VerifyingKey, String> {
    let int = |label: i64| {
        key.as_map()?
            .iter()
            .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(label))
            .map(|(_, v)| v)
    };
    let alg = int(3)
        .and_then(Cbor::as_integer)
        .and_then(|i| i64::try_from(i).ok());
    if alg != Some(ES256) {
        return Err(format!(
            "this passkey signs with COSE algorithm {}; the console takes ES256 (-7), which every platform passkey offers",
            alg.map_or("unknown".into(), |a| a.to_string())
        ));
    }
    let x = int(-2).and_then(Cbor::as_bytes).ok_or("public key: no x")?;
    let y = int(-3).and_then(Cbor::as_bytes).ok_or("public key: no y")?;
    let mut point = vec![0x04];
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    VerifyingKey::from_sec1_bytes(&point).map_err(|_| "public key: not a P-256 point".to_string())
}

fn map_get<'a>(v: &'a Cbor, key: &str) -> Option<&'a Cbor> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// A software authenticator: it registers and signs the way a browser's
/// passkey does, for the tests (which must also forge what a browser would
/// never send).
pub mod soft {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    pub struct Authenticator {
        pub key: SigningKey,
        pub credential_id: Vec<u8>,
        pub rp_id: String,
        pub origin: String,
    }

    impl Authenticator {
        pub fn new(seed: u8, rp_id: &str, origin: &str) -> Authenticator {
            let key = SigningKey::from_bytes(&[seed.max(1); 32].into()).expect("a valid scalar");
            Authenticator {
                key,
                credential_id: vec![seed; 16],
                rp_id: rp_id.into(),
                origin: origin.into(),
            }
        }

        pub fn cose_key(&self) -> Vec<u8> {
            let point = self.key.verifying_key().to_encoded_point(false);
            let key = Cbor::Map(vec![
                (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
                (Cbor::Integer(3.into()), Cbor::Integer(ES256.into())),
                (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
                (
                    Cbor::Integer((-2).into()),
                    Cbor::Bytes(point.x().unwrap().to_vec()),
                ),
                (
                    Cbor::Integer((-3).into()),
                    Cbor::Bytes(point.y().unwrap().to_vec()),
                ),
            ]);
            let mut out = Vec::new();
            ciborium::into_writer(&key, &mut out).unwrap();
            out
        }

        fn client_data(&self, kind: &str, challenge: &[u8]) -> Vec<u8> {
            serde_json::json!({
                "type": kind, "challenge": b64url(challenge), "origin": self.origin, "crossOrigin": false,
            })
            .to_string()
            .into_bytes()
        }

        fn auth_data(&self, flags: u8, count: u32) -> Vec<u8> {
            let mut a = Sha256::digest(self.rp_id.as_bytes()).to_vec();
            a.push(flags);
            a.extend_from_slice(&count.to_be_bytes());
            a
        }

        /// `(clientDataJSON, attestationObject)` of a registration.
        pub fn register(&self, challenge: &[u8]) -> (Vec<u8>, Vec<u8>) {
            let mut auth = self.auth_data(USER_PRESENT | ATTESTED, 0);
            auth.extend_from_slice(&[0; 16]);
            auth.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
            auth.extend_from_slice(&self.credential_id);
            auth.extend_from_slice(&self.cose_key());
            let object = Cbor::Map(vec![
                (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
                (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
                (Cbor::Text("authData".into()), Cbor::Bytes(auth)),
            ]);
            let mut out = Vec::new();
            ciborium::into_writer(&object, &mut out).unwrap();
            (self.client_data("webauthn.create", challenge), out)
        }

        /// `(authenticatorData, clientDataJSON, signature)` of an assertion.
        pub fn assert(&self, challenge: &[u8], count: u32) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
            let auth = self.auth_data(USER_PRESENT | 0x04, count);
            let client = self.client_data("webauthn.get", challenge);
            let mut signed = auth.clone();
            signed.extend_from_slice(&Sha256::digest(&client));
            let sig: Signature = self.key.sign(&signed);
            (auth, client, sig.to_der().as_bytes().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::soft::Authenticator;
    use super::*;

    const RP: &str = "localhost";
    const ORIGIN: &str = "http://localhost:3000";

    fn expect(challenge: &[u8]) -> Expect<'_> {
        Expect {
            rp_id: RP,
            origin: ORIGIN,
            challenge,
        }
    }

    #[test]
    fn a_registered_key_verifies_its_assertions_and_nothing_else() {
        let a = Authenticator::new(7, RP, ORIGIN);
        let (client, object) = a.register(b"register-me");
        let r = verify_registration(&client, &object, &expect(b"register-me")).unwrap();
        assert_eq!(r.credential_id, a.credential_id);
        assert_eq!(r.public_key, a.cose_key());

        let (auth, client, sig) = a.assert(b"decision", 5);
        assert_eq!(
            verify_assertion(&r.public_key, &auth, &client, &sig, &expect(b"decision")),
            Ok(5)
        );
        // Over another challenge (another decision): refused.
        let e =
            verify_assertion(&r.public_key, &auth, &client, &sig, &expect(b"other")).unwrap_err();
        assert!(e.contains("another challenge"), "{e}");
        // Another key: refused.
        let other = Authenticator::new(9, RP, ORIGIN);
        let e = verify_assertion(
            &other.cose_key(),
            &auth,
            &client,
            &sig,
            &expect(b"decision"),
        )
        .unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        // A flipped byte of what was signed: refused.
        let mut tampered = auth.clone();
        tampered[36] ^= 1;
        assert!(verify_assertion(
            &r.public_key,
            &tampered,
            &client,
            &sig,
            &expect(b"decision")
        )
        .is_err());
    }

    #[test]
    fn origin_relying_party_and_type_are_checked() {
        let a = Authenticator::new(3, RP, "http://evil.example");
        let (auth, client, sig) = a.assert(b"c", 1);
        let e = verify_assertion(&a.cose_key(), &auth, &client, &sig, &expect(b"c")).unwrap_err();
        assert!(e.contains("made on \"http://evil.example\""), "{e}");
        let b = Authenticator::new(3, "evil.example", ORIGIN);
        let (auth, client, sig) = b.assert(b"c", 1);
        let e = verify_assertion(&b.cose_key(), &auth, &client, &sig, &expect(b"c")).unwrap_err();
        assert!(e.contains("another relying party"), "{e}");
        let (client, object) = Authenticator::new(3, RP, ORIGIN).register(b"c");
        let as_get = verify_assertion(
            &Authenticator::new(3, RP, ORIGIN).cose_key(),
            &object,
            &client,
            &[],
            &expect(b"c"),
        );
        assert!(as_get.unwrap_err().contains("type is \"webauthn.create\""));
    }
}
