DROP TABLE IF EXISTS journal_write_failures;
ALTER TABLE notifications DROP COLUMN IF EXISTS delivery_handled_by;
ALTER TABLE notifications DROP COLUMN IF EXISTS delivery_handled_at;
ALTER TABLE notifications DROP COLUMN IF EXISTS delivery_failure;
ALTER TABLE notifications DROP COLUMN IF EXISTS delivery_failed_at;
