ALTER TABLE participants DROP COLUMN IF EXISTS priority;
