-- Reminders and escalations written by the journey workflow's activities.
-- id is the idempotency key built by the workflow: a retried activity never writes twice.
CREATE TABLE notifications (
    id             text PRIMARY KEY,
    participant_id text        NOT NULL,
    unit           text        NOT NULL,
    deadline_id    text        NOT NULL,
    deadline_kind  text        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('reminder', 'due', 'escalation')),
    level          integer     NOT NULL DEFAULT 0,
    recipient_role text        NOT NULL,
    recipient_id   text,
    due_at         timestamptz NOT NULL,
    planned_at     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    read_at        timestamptz
);

CREATE INDEX notifications_participant_idx ON notifications (participant_id, created_at);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_role, unit, created_at);
