-- Recording retention: the audio stays with the provider until `recordings.retention_days`
-- after it was made, then the retention job deletes it there and notes when here. The row, its
-- transcript and the consultation stay. Keep in step with the other backend.
ALTER TABLE recordings ADD COLUMN deleted_at TEXT;
CREATE INDEX recordings_retention ON recordings (deleted_at, created_at);
