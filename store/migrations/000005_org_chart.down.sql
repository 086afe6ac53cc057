ALTER TABLE notifications DROP COLUMN IF EXISTS number;
DROP INDEX IF EXISTS notifications_inbox_idx;
ALTER TABLE notifications DROP COLUMN IF EXISTS resolved_from;
DROP TABLE IF EXISTS staff;
DROP TABLE IF EXISTS units;
