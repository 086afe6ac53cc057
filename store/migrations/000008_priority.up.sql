-- The queue for a guide is sorted by need first (1 most urgent), then by waiting time.
ALTER TABLE participants ADD COLUMN priority integer NOT NULL DEFAULT 2;
