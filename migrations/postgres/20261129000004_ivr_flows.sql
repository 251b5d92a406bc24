-- The IVR flows: the caller's accessibility profile, the call's IVR state (encrypted, the SQL
-- copy of the Redis session), what a consultation is about, legal-aid applications with their
-- pre-assessment, and the caller's recorded messages. Keep in step with the other backend.

ALTER TABLE callers ADD COLUMN long_timeouts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE callers ADD COLUMN keypad_only BIGINT NOT NULL DEFAULT 0;
ALTER TABLE callers ADD COLUMN sms_follow_up BIGINT NOT NULL DEFAULT 0;

ALTER TABLE calls ADD COLUMN ivr_state_enc BYTEA;

ALTER TABLE consultations ADD COLUMN matter TEXT;
ALTER TABLE consultations ADD COLUMN prefecture TEXT;
ALTER TABLE consultations ADD COLUMN county TEXT;
-- Art. 44: a deadline within 7 days or evidence at risk.
ALTER TABLE consultations ADD COLUMN urgent BIGINT NOT NULL DEFAULT 0;
-- Art. 23: when the caller was told of their right to apply, the conditions and the procedure.
ALTER TABLE consultations ADD COLUMN art23_notice_at TEXT;

CREATE TABLE applications (
    id                   TEXT PRIMARY KEY,
    -- What created it ("call:<sid>:apply"): a retried webhook finds it again.
    origin_key           TEXT NOT NULL UNIQUE,
    consultation_id      TEXT NOT NULL REFERENCES consultations (id),
    certificate_enc      BYTEA,
    disability_category  BIGINT,
    disability_level     BIGINT,
    prefecture           TEXT,
    county               TEXT,
    matter               TEXT,
    -- The pre-screening questions answered yes, comma-separated (see ivr::flow::Flag).
    answers              TEXT NOT NULL,
    outcome              TEXT NOT NULL,
    priority             TEXT NOT NULL,
    urgent               BIGINT NOT NULL,
    explanation          TEXT NOT NULL,
    created_at           TEXT NOT NULL
);
CREATE INDEX applications_consultation ON applications (consultation_id, created_at);

CREATE TABLE recordings (
    id               TEXT PRIMARY KEY,
    consultation_id  TEXT NOT NULL REFERENCES consultations (id),
    call_sid         TEXT NOT NULL,
    -- "description" or "note".
    purpose          TEXT NOT NULL,
    url              TEXT NOT NULL,
    duration_secs    BIGINT NOT NULL,
    -- Filled by speech recognition.
    transcript       TEXT,
    created_at       TEXT NOT NULL,
    UNIQUE (call_sid, url)
);
CREATE INDEX recordings_consultation ON recordings (consultation_id, created_at);
