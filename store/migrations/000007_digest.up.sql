-- When a reminder went out in a daily digest.
ALTER TABLE notifications ADD COLUMN digest_sent_at timestamptz;
