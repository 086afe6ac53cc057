-- When each channel delivered a notification; a retried delivery skips what is done.
ALTER TABLE notifications ADD COLUMN email_sent_at timestamptz;
ALTER TABLE notifications ADD COLUMN webhook_sent_at timestamptz;
