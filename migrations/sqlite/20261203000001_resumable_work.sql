-- Work that must survive a restart (issue 18): a recording's transcription is claimed before it
-- runs, so a process that died with it unfinished leaves a stale claim that another process
-- takes over; it is tried at most three times. Keep in step with the other backend.
ALTER TABLE recordings ADD COLUMN transcribe_claimed_at TEXT;
ALTER TABLE recordings ADD COLUMN transcribe_tries BIGINT NOT NULL DEFAULT 0;
CREATE INDEX recordings_untranscribed ON recordings (transcript, created_at);
