-- A delivery that cannot succeed (SMTP 5xx, an invalid address, a webhook 4xx, or one
-- that kept failing until the journey gave up) is recorded on the notification, without
-- personal data, until an admin marks it handled. The self-check reports the unhandled.
ALTER TABLE notifications ADD COLUMN delivery_failed_at timestamptz;
ALTER TABLE notifications ADD COLUMN delivery_failure text;
ALTER TABLE notifications ADD COLUMN delivery_handled_at timestamptz;
ALTER TABLE notifications ADD COLUMN delivery_handled_by text;

-- A read-model write that could not succeed as sent (text PostgreSQL refuses, say): the
-- journey goes on, and this row says which of its events were affected and why. reason
-- is a fixed text with the SQLSTATE, never the data.
CREATE TABLE journal_write_failures (
    id             bigserial PRIMARY KEY,
    participant_id text        NOT NULL,
    journey_id     text        NOT NULL,
    first_seq      bigint,
    last_seq       bigint,
    reason         text        NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz
);

CREATE INDEX journal_write_failures_open_idx ON journal_write_failures (failed_at) WHERE resolved_at IS NULL;
