-- The journey event table: append-only, one row per event, idempotent on
-- (participant, event id) so that a retried activity never writes twice. Each row
-- carries the journey as it was when the event was written (snapshot), so the read
-- model below can be rebuilt from this table alone (stegvis rebuild).
CREATE TABLE journey_events (
    participant_id text        NOT NULL,
    event_id       text        NOT NULL, -- <journey id>/<seq>
    journey_id     text        NOT NULL, -- the workflow's first run id; a re-entry is a new journey
    seq            bigint      NOT NULL,
    at             timestamptz NOT NULL, -- when it happened
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    kind           text        NOT NULL,
    summary        text        NOT NULL,
    referred_at    timestamptz NOT NULL, -- of the journey, to order a participant's journeys
    snapshot       jsonb       NOT NULL,
    PRIMARY KEY (participant_id, event_id)
);
CREATE INDEX journey_events_kind_at_idx ON journey_events (kind, at);

-- The read model: one row per participant, from their latest journey.
CREATE TABLE participants (
    participant_id   text PRIMARY KEY,
    journey_id       text        NOT NULL,
    seq              bigint      NOT NULL,
    referred_at      timestamptz NOT NULL,
    unit             text        NOT NULL,
    program_id       text        NOT NULL,
    program_version  integer     NOT NULL,
    guide_id         text,
    phase            text        NOT NULL,
    step             integer     NOT NULL,
    plan_signed_at   timestamptz,
    exited_at        timestamptz,
    exit_reason      text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX participants_unit_idx ON participants (unit, phase);
CREATE INDEX participants_guide_idx ON participants (guide_id);

-- The current deadlines of each participant's latest journey.
CREATE TABLE deadlines (
    participant_id   text        NOT NULL REFERENCES participants ON DELETE CASCADE,
    deadline_id      text        NOT NULL,
    kind             text        NOT NULL,
    due_date         date        NOT NULL,
    due_at           timestamptz NOT NULL,
    status           text        NOT NULL CHECK (status IN ('open', 'met', 'closed')),
    met_at           timestamptz,
    escalation_level integer     NOT NULL,
    PRIMARY KEY (participant_id, deadline_id)
);
CREATE INDEX deadlines_open_due_idx ON deadlines (due_at) WHERE status = 'open';
