-- The caller's speech rate (slower / normal / faster), remembered between calls (rule R4).
ALTER TABLE callers ADD COLUMN speech_rate TEXT NOT NULL DEFAULT 'normal';
