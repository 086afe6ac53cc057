-- The daily self-check (issue 13): what it needs of the read model, the findings it
-- remembers, and the unit managers' (and admins') inbox notifications it writes.

-- The next notice time of each deadline, as the journey had it when it last wrote the
-- read model; the self-check compares it with the journey's own state. Null for a
-- deadline without a notice left, and for rows written before this column existed.
-- next_notice_known tells the two apart: false until the journey writes again.
ALTER TABLE deadlines ADD COLUMN next_notice_at timestamptz;
ALTER TABLE deadlines ADD COLUMN next_notice_known boolean NOT NULL DEFAULT false;

-- Delivery failures and journal write failures are recorded by migration 000012. These
-- statements repeat exactly its definitions, guarded, so that whichever of the two
-- migrations runs first, both columns and table exist with the same shape.
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS delivery_failed_at timestamptz;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS delivery_failure text;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS delivery_handled_at timestamptz;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS delivery_handled_by text;
CREATE TABLE IF NOT EXISTS journal_write_failures (
    id             bigserial PRIMARY KEY,
    participant_id text        NOT NULL,
    journey_id     text        NOT NULL,
    first_seq      bigint,
    last_seq       bigint,
    reason         text        NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz
);

-- A self-check finding is a notification of its own kind, addressed to the unit's
-- manager, or to every admin (recipient_role 'admin', no recipient_id) when it belongs
-- to no unit or the unit has no manager. message says what is wrong and what to do.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('reminder', 'due', 'escalation', 'attendance', 'self_check'));
ALTER TABLE notifications ADD COLUMN message text;
CREATE INDEX notifications_admin_inbox_idx ON notifications (created_at) WHERE recipient_role = 'admin';

-- What each recording run of the self-check found, one row per problem (kind and
-- subject: a participant, a unit or a notification): when it was first seen, when last,
-- and when it stopped being found. A problem found again after it was resolved is a new
-- row's worth of news: first_seen_at starts again.
CREATE TABLE self_check_findings (
    kind           text        NOT NULL,
    subject        text        NOT NULL,
    participant_id text        NOT NULL DEFAULT '',
    unit           text        NOT NULL DEFAULT '',
    problem        text        NOT NULL,
    action         text        NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    resolved_at    timestamptz,
    PRIMARY KEY (kind, subject)
);

-- When the recording self-check (the daily run, stegvis check --notify) last ran and
-- last ran to the end: one row. Every process reads it for its /metrics, so the gauges
-- agree whichever worker ran the check.
CREATE TABLE self_check_runs (
    singleton       boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_run_at     timestamptz NOT NULL,
    last_success_at timestamptz
);
