ALTER TABLE notifications DROP COLUMN IF EXISTS webhook_sent_at;
ALTER TABLE notifications DROP COLUMN IF EXISTS email_sent_at;
