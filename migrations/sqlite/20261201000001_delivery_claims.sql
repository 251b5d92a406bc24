-- Exactly-once webhooks (issue 15). Keep in step with the other backend's migration.

-- A delivery is handled by the copy that claimed it: claimed_at is its lease, cleared when the
-- handler failed so the provider's retry may run it again, and taken over by a retry only once
-- the lease is stale (the owner died). turn is the IVR turn this delivery advanced, so a stale
-- copy of that turn gets the same answer.
ALTER TABLE provider_events ADD COLUMN claimed_at TEXT;
ALTER TABLE provider_events ADD COLUMN turn BIGINT;
CREATE INDEX provider_events_turn ON provider_events (subject_sid, turn);

-- The IVR turn the call's current prompt carries in its action URLs (turn=), and the delivery
-- that moved it there: a delivery for an older turn changes nothing.
ALTER TABLE calls ADD COLUMN ivr_turn BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN ivr_turn_by TEXT;

-- /readyz writes here, so "ready" means the database takes writes, not only reads.
CREATE TABLE health_checks (
    id          BIGINT PRIMARY KEY,
    checked_at  TEXT NOT NULL
);
