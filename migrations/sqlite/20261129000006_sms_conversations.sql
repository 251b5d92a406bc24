-- SMS conversations: where each texter is in the menu (the same flow as the phone menu,
-- encrypted: it holds their answers), the steps to go back to, and whether they opted out of
-- automatic messages (退订 / TD / STOP). Keep in step with the other backend.
CREATE TABLE sms_conversations (
    caller_id   TEXT PRIMARY KEY REFERENCES callers (id),
    state_enc   BLOB,
    opted_out   BIGINT NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL
);
