-- The case worker hears when a participant misses meetings in a row (the attendance
-- requirement), a notification that belongs to no deadline.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('reminder', 'due', 'escalation', 'attendance'));
