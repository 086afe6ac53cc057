DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP INDEX audit_log_at_idx;
DROP INDEX audit_log_actor_idx;
DROP TABLE erasures;
DROP TABLE participant_identity;
