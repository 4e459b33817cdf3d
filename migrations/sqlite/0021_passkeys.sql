-- Passkeys: a person's WebAuthn credentials (the public key as the
-- authenticator sent it, COSE, base64url), which sign gate decisions.
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sign_count BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_used_ms BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);
-- Challenges handed out and not yet used: each is used once, before it
-- expires, by the person it was made for, for what it binds (a decision's
-- signed document; empty for a registration), on the origin it names.
CREATE TABLE webauthn_challenges (
    nonce TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    binds TEXT NOT NULL,
    challenge TEXT NOT NULL,
    rp_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
-- A gate whose decisions must be signed with a passkey.
ALTER TABLE phases ADD COLUMN signed BIGINT NOT NULL DEFAULT 0;
