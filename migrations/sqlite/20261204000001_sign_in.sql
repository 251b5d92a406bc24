-- Signing in (issue 19). Keep in step with the other backend.
-- Sessions end when idle: the last request a person made with the session.
ALTER TABLE sessions ADD COLUMN seen_at TEXT;
-- A token's last use, so that its use is audited once an hour, not on every request.
ALTER TABLE api_tokens ADD COLUMN used_at TEXT;
-- Admins search the audit trail by time alone too.
CREATE INDEX audit_at ON audit_log (at);
-- The optional second factor: the TOTP secret (encrypted with the data key) and the last time
-- step a code was accepted for, so that no code is accepted twice.
ALTER TABLE users ADD COLUMN totp_enc BLOB;
ALTER TABLE users ADD COLUMN totp_step BIGINT;
