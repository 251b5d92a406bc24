-- Callbacks: each offer of a waiting consultation to a lawyer, and what became of it — the
-- lawyer's call, the caller's call, the answering-machine verdict, the outcome. Keep in step
-- with the other backend.

CREATE TABLE assignments (
    id                TEXT PRIMARY KEY,
    consultation_id   TEXT NOT NULL REFERENCES consultations (id),
    lawyer_id         TEXT NOT NULL REFERENCES lawyers (id),
    -- offered, accepted, calling_lawyer, calling_caller, connected, completed, declined,
    -- lapsed, lawyer_unreachable, no_answer, failed
    state             TEXT NOT NULL,
    -- Which callback attempt for the consultation this is (1, 2, 3).
    attempt           BIGINT NOT NULL,
    offered_at        TEXT NOT NULL,
    lapses_at         TEXT NOT NULL,
    accepted_at       TEXT,
    connected_at      TEXT,
    ended_at          TEXT,
    lawyer_call_sid   TEXT,
    caller_call_sid   TEXT,
    -- The provider's answering-machine verdict on the caller's leg (human, machine_start, …).
    answered_by       TEXT,
    updated_at        TEXT NOT NULL
);
CREATE INDEX assignments_consultation ON assignments (consultation_id, offered_at);
CREATE INDEX assignments_lawyer ON assignments (lawyer_id, state);
CREATE INDEX assignments_state ON assignments (state, ended_at);

-- Failed callback attempts so far (the retry policy's count).
ALTER TABLE consultations ADD COLUMN callback_attempts BIGINT NOT NULL DEFAULT 0;
