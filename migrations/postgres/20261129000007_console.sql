-- The console: staff accounts, their console sessions and API tokens, the audit trail of who
-- read or changed which case, lawyers' case notes, and how a case was closed (Legal Aid Law
-- Art. 22 service form). Keep in step with the other backend.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    -- argon2id PHC string.
    password_hash  TEXT NOT NULL,
    -- lawyer, supervisor, admin
    role           TEXT NOT NULL,
    -- A lawyer account's roster entry: whose offers and cases it sees.
    lawyer_id      TEXT REFERENCES lawyers (id),
    -- A supervisor's prefecture (GB/T 2260): the queue, cases and roster they oversee.
    region_code    TEXT,
    created_at     TEXT NOT NULL
);

-- Only a SHA-256 of each session cookie and API token is stored: a copy of the database logs
-- nobody in.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    csrf        TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    label       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Every read of a case and every change made through the console or the API.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    -- case.read, case.note, case.close, case.sms, callback.claim, callback.accept, ...
    action      TEXT NOT NULL,
    -- The consultation, assignment or lawyer acted on.
    subject     TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit_log (subject, at);
CREATE INDEX audit_user ON audit_log (user_id, at);

CREATE TABLE case_notes (
    id               TEXT PRIMARY KEY,
    consultation_id  TEXT NOT NULL REFERENCES consultations (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    body_enc         BYTEA NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX case_notes_consultation ON case_notes (consultation_id, created_at);

-- Closing: the Art. 22 service form given, the outcome in the lawyer's words (encrypted).
ALTER TABLE consultations ADD COLUMN service_form TEXT;
ALTER TABLE consultations ADD COLUMN outcome_enc BYTEA;
ALTER TABLE consultations ADD COLUMN closed_at TEXT;
ALTER TABLE consultations ADD COLUMN closed_by TEXT;
