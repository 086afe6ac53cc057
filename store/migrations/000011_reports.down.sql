DROP INDEX IF EXISTS deadlines_open_participant_idx;
DROP TRIGGER IF EXISTS report_journey_events_inserted ON journey_events;
DROP FUNCTION IF EXISTS report_journey_events_inserted();
DROP FUNCTION IF EXISTS report_refresh(text[]);
DROP FUNCTION IF EXISTS report_deadlines_of(jsonb);
DROP TABLE IF EXISTS report_deadlines;
DROP TABLE IF EXISTS report_journeys;
DROP INDEX IF EXISTS journey_events_journey_seq_idx;
