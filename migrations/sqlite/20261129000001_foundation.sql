-- Foundation schema (SQLite). Keep in step with migrations/postgres: same tables, same columns.
-- Times are RFC 3339 UTC text with milliseconds, so they sort as text on both backends.
-- Personal data (*_enc) is AES-256-GCM ciphertext; *_hash is a keyed HMAC for look-ups.

CREATE TABLE callers (
    id            TEXT PRIMARY KEY,
    phone_hash    TEXT NOT NULL UNIQUE,
    phone_enc     BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);

CREATE TABLE calls (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    call_sid       TEXT NOT NULL,
    caller_id      TEXT REFERENCES callers (id),
    direction      TEXT NOT NULL,
    to_number      TEXT NOT NULL,
    status         TEXT NOT NULL,
    duration_secs  BIGINT,
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    UNIQUE (provider, call_sid)
);

-- Every webhook delivery, call or SMS, once: dedup_key is the provider's idempotency token or a
-- hash of the signed request. The raw form (unknown fields included) is kept encrypted, and the
-- answer we gave is kept so a retried delivery gets the same answer.
CREATE TABLE provider_events (
    id            TEXT PRIMARY KEY,
    dedup_key     TEXT NOT NULL UNIQUE,
    provider      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    subject_sid   TEXT NOT NULL,
    payload_enc   BLOB NOT NULL,
    response      TEXT,
    received_at   TEXT NOT NULL
);
CREATE INDEX provider_events_subject ON provider_events (subject_sid);

CREATE TABLE consultations (
    id          TEXT PRIMARY KEY,
    ticket      TEXT NOT NULL UNIQUE,
    -- What created it ("call:<sid>:callback", "sms:<sid>"): a retried webhook finds it again.
    origin_key  TEXT NOT NULL UNIQUE,
    caller_id   TEXT NOT NULL REFERENCES callers (id),
    call_sid    TEXT,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    priority    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX consultations_status ON consultations (status, created_at);
CREATE INDEX consultations_caller ON consultations (caller_id, status);

CREATE TABLE sms_messages (
    id               TEXT PRIMARY KEY,
    provider_sid     TEXT UNIQUE,
    direction        TEXT NOT NULL,
    caller_id        TEXT NOT NULL REFERENCES callers (id),
    consultation_id  TEXT REFERENCES consultations (id),
    body_enc         BLOB NOT NULL,
    status           TEXT NOT NULL,
    status_rank      BIGINT NOT NULL,
    error_code       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX sms_messages_consultation ON sms_messages (consultation_id, created_at);
