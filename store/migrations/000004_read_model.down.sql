DROP TABLE IF EXISTS deadlines;
DROP TABLE IF EXISTS participants;
DROP TABLE IF EXISTS journey_events;
