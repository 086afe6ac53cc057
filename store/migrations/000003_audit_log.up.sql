-- Who changed what, when: an append-only record. Issue-level access auditing builds on it.
CREATE TABLE audit_log (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    actor          text        NOT NULL,
    action         text        NOT NULL,
    participant_id text,
    outcome        text        NOT NULL,
    detail         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    request_id     text
);

CREATE INDEX audit_log_participant_idx ON audit_log (participant_id, at);
