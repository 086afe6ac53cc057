-- Who a participant is, encrypted by the application (AES-GCM; key_id names the key
-- in ENCRYPTION_KEYS), and their case worker, who may read the journey. Nothing here
-- ever goes to Temporal. Retention erases the personal columns and sets erased_at.
CREATE TABLE participant_identity (
    participant_id  text PRIMARY KEY,
    case_worker_id  text,
    key_id          text,
    personal_number bytea,
    name            bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    erased_at       timestamptz
);
CREATE INDEX participant_identity_case_worker_idx ON participant_identity (case_worker_id);

-- Participants whose personal data retention has erased, so it runs once each.
CREATE TABLE erasures (
    participant_id text PRIMARY KEY,
    erased_at      timestamptz NOT NULL DEFAULT now(),
    exited_at      timestamptz NOT NULL
);

-- The audit log is read by user, by participant and by period.
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Append-only: nobody changes or removes what the log says happened.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
