-- Duty lawyers and their rosters (times are Beijing time, minutes after midnight).
CREATE TABLE lawyers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    phone_hash        TEXT NOT NULL UNIQUE,
    phone_enc         BYTEA NOT NULL,
    max_cases         BIGINT NOT NULL,
    -- available / busy / offline / on_call
    presence          TEXT NOT NULL DEFAULT 'offline',
    -- Fairness: the least recently assigned eligible lawyer gets the next offer.
    last_assigned_at  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- Matters (labour_wages …), sign_language, sms, dialect:<name>.
CREATE TABLE lawyer_skills (
    lawyer_id  TEXT NOT NULL REFERENCES lawyers (id) ON DELETE CASCADE,
    skill      TEXT NOT NULL,
    PRIMARY KEY (lawyer_id, skill)
);

-- GB/T 2260 codes: prefecture or county (6 digits), township (9).
CREATE TABLE lawyer_regions (
    lawyer_id    TEXT NOT NULL REFERENCES lawyers (id) ON DELETE CASCADE,
    region_code  TEXT NOT NULL,
    PRIMARY KEY (lawyer_id, region_code)
);
CREATE INDEX lawyer_regions_code ON lawyer_regions (region_code);

CREATE TABLE lawyer_shifts (
    lawyer_id  TEXT NOT NULL REFERENCES lawyers (id) ON DELETE CASCADE,
    weekday    BIGINT NOT NULL,
    start_min  BIGINT NOT NULL,
    end_min    BIGINT NOT NULL
);
CREATE INDEX lawyer_shifts_lawyer ON lawyer_shifts (lawyer_id);

-- A date that replaces the weekly shifts; no hours = off all day.
CREATE TABLE lawyer_shift_exceptions (
    lawyer_id  TEXT NOT NULL REFERENCES lawyers (id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    start_min  BIGINT,
    end_min    BIGINT
);
CREATE INDEX lawyer_shift_exceptions_lawyer ON lawyer_shift_exceptions (lawyer_id, day);
