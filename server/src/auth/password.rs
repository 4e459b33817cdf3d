//! Passwords: the length policy, argon2id hashing with the RustCrypto defaults
//! (19 MiB, t = 2, p = 1), verification, and generated passwords.
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

/// Checks the policy; the message says what to do.
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!(
            "password: {n} characters is too short; use at least {MIN_LEN}"
        ));
    }
    if n > MAX_LEN {
        return Err(format!(
            "password: {n} characters is too long; use at most {MAX_LEN}"
        ));
    }
    Ok(())
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail on a policy-checked password")
        .to_string()
}

pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same work as a real verification, for unknown usernames, so the
/// response time does not tell whether an account exists.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("not-a-real-password-at-all"));
    let _ = verify(password, phc);
}

/// A random password of 24 characters from an unambiguous alphabet.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        // 256 % 54 != 0 leaves a bias of under 1 in 256 per character, which
        // 24 characters of ~5.75 bits each (≈ 138 bits) easily absorb.
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_bounds() {
        assert!(check_policy("elevenchars")
            .unwrap_err()
            .contains("at least 12"));
        assert!(check_policy("twelve chars").is_ok());
        assert!(check_policy(&"x".repeat(128)).is_ok());
        assert!(check_policy(&"x".repeat(129))
            .unwrap_err()
            .contains("at most 128"));
        // Characters, not bytes.
        assert!(check_policy("ééééééééééé").is_err());
    }

    #[test]
    fn hashes_are_argon2id_with_default_cost_and_verify() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse battery!", &h));
        assert!(!verify("anything", "not a phc string"));
        assert_ne!(h, hash("correct horse battery"), "salted");
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate();
        assert_eq!(a.len(), 24);
        assert!(check_policy(&a).is_ok());
        assert_ne!(a, generate());
    }
}
