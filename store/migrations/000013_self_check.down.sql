DROP TABLE self_check_runs;
DROP TABLE self_check_findings;
DROP INDEX notifications_admin_inbox_idx;
DELETE FROM notifications WHERE kind = 'self_check';
ALTER TABLE notifications DROP COLUMN message;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('reminder', 'due', 'escalation', 'attendance'));
-- delivery_* and journal_write_failures belong to migration 000012, whose down removes them.
ALTER TABLE deadlines DROP COLUMN next_notice_known;
ALTER TABLE deadlines DROP COLUMN next_notice_at;
