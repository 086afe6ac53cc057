ALTER TABLE notifications DROP COLUMN IF EXISTS digest_sent_at;
