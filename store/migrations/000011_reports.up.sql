-- The reports' own projection of journey_events (report_journeys, report_deadlines), and
-- indexes for the managers' lists on the read model.
--
-- Why a projection: every report used to find each journey's first and latest event with
-- DISTINCT ON over the whole event table, and expand the latest snapshot's deadlines from
-- JSON, before it could filter by unit or period: two sorts of 2,000,000 rows, 5–11 s. The
-- read model (participants, deadlines) cannot answer the reports instead: it keeps only a
-- participant's latest journey (a re-entry replaces the journey that ended), and not the
-- unit a journey was referred to (a transfer replaces it).
--
-- A trigger on journey_events keeps the projection in the transaction that writes the
-- events, whoever writes them (store.RecordJourneyEvents, or a COPY). report_refresh works
-- journeys out from journey_events alone, so the trigger, this migration (for the events
-- already there) and `stegvis rebuild` all give the same rows.

-- A journey's events in order: its first and its latest event are one index probe each.
CREATE INDEX journey_events_journey_seq_idx ON journey_events (journey_id, seq);

-- One row per journey: its first event's unit, and its latest event's snapshot.
CREATE TABLE report_journeys (
    journey_id     text   PRIMARY KEY,
    participant_id text   NOT NULL,  -- of the first event
    first_seq      bigint NOT NULL,
    referral_unit  text,             -- the first event's unit: where the journey was referred
    seq            bigint NOT NULL,  -- the latest event; the columns below are its snapshot's
    unit           text,             -- the unit that has the journey now
    program_id     text,
    referred_at    timestamptz,
    exited_at      timestamptz,
    exit_reason    text,
    -- A digest of what report_deadlines copies from this journey: its rows are rewritten
    -- only when it changes (a note, or a reminder that raises an escalation level, leaves
    -- them as they are).
    fingerprint    text   NOT NULL
);
-- Exits: a unit's exits in a period.
CREATE INDEX report_journeys_exits_idx ON report_journeys (unit, exited_at) INCLUDE (exit_reason)
    WHERE exited_at IS NOT NULL;

-- The deadlines of each journey's latest snapshot that a report counts (plans, first
-- follow-ups and reviews, steps, the guide), with the journey's columns the reports filter
-- and group by copied onto each row, so that a report reads one table and no JSON.
CREATE TABLE report_deadlines (
    journey_id     text    NOT NULL REFERENCES report_journeys ON DELETE CASCADE,
    ord            integer NOT NULL, -- the deadline's place in the snapshot
    deadline_id    text,
    kind           text,
    due_at         timestamptz,
    met_at         timestamptz,
    status         text,
    -- Worked out once here rather than for every row of every report: the months the
    -- reports group by, in Stockholm (YYYY-MM), and a step's number (step-3: 3).
    due_month      text,
    step           integer,
    referral_unit  text,
    unit           text,
    program_id     text,
    referred_at    timestamptz,
    referred_month text,
    exited_at      timestamptz,
    PRIMARY KEY (journey_id, ord)
);
-- One partial index per report: what it filters by (a unit, then the period) and what it
-- counts, so that each report is one index range where the table is vacuumed.
CREATE INDEX report_deadlines_plan_idx ON report_deadlines (referral_unit, referred_at)
    INCLUDE (referred_month, due_at, met_at, status) WHERE kind = 'plan';
CREATE INDEX report_deadlines_follow_up_idx ON report_deadlines (unit, due_at)
    INCLUDE (due_month, met_at, status) WHERE kind IN ('first_follow_up', 'review');
CREATE INDEX report_deadlines_step_idx ON report_deadlines (referral_unit, referred_at)
    INCLUDE (program_id, referred_month, step, due_at, met_at, status) WHERE kind = 'step';
CREATE INDEX report_deadlines_guide_idx ON report_deadlines (referral_unit, referred_at)
    INCLUDE (met_at, exited_at) WHERE deadline_id = 'guide';

-- The deadlines of a snapshot that report_deadlines keeps, with their place in it: the
-- kinds the reports count and the guide (waiting time), typed.
CREATE FUNCTION report_deadlines_of(snapshot jsonb)
RETURNS TABLE (ord bigint, id text, kind text, due_at timestamptz, met_at timestamptz, status text)
LANGUAGE sql STABLE AS $$
    SELECT a.ord, a.d->>'id', a.d->>'kind', (a.d->>'dueAt')::timestamptz, (a.d->>'metAt')::timestamptz, a.d->>'status'
    FROM jsonb_array_elements(deadlines_of(snapshot)) WITH ORDINALITY AS a(d, ord)
    WHERE a.d->>'kind' IN ('plan', 'first_follow_up', 'review', 'step') OR a.d->>'id' = 'guide'
$$;

-- report_refresh works out the given journeys again from journey_events: their first and
-- latest event as this transaction sees them.
CREATE FUNCTION report_refresh(ids text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
BEGIN
    WITH j AS (
        SELECT f.journey_id, f.participant_id, f.seq AS first_seq, f.snapshot->>'unit' AS referral_unit,
               l.seq, l.snapshot
        FROM unnest(ids) AS i(journey_id)
        CROSS JOIN LATERAL (SELECT e.journey_id, e.participant_id, e.seq, e.snapshot FROM journey_events e
                            WHERE e.journey_id = i.journey_id ORDER BY e.seq LIMIT 1) f
        CROSS JOIN LATERAL (SELECT e.seq, e.snapshot FROM journey_events e
                            WHERE e.journey_id = i.journey_id ORDER BY e.seq DESC LIMIT 1) l
    ), before AS (
        SELECT r.journey_id, r.fingerprint FROM report_journeys r WHERE r.journey_id = ANY (ids)
    ), up AS (
        INSERT INTO report_journeys AS r (journey_id, participant_id, first_seq, referral_unit, seq, unit, program_id,
                                          referred_at, exited_at, exit_reason, fingerprint)
        SELECT journey_id, participant_id, first_seq, referral_unit, seq,
               snapshot->>'unit', snapshot->>'programId', (snapshot->>'referredAt')::timestamptz,
               (snapshot->>'exitedAt')::timestamptz, snapshot->>'exitReason',
               md5(row(referral_unit, snapshot->'unit', snapshot->'programId', snapshot->'referredAt', snapshot->'exitedAt',
                       ARRAY(SELECT d FROM report_deadlines_of(snapshot) d ORDER BY d.ord))::text)
        FROM j
        -- The row is replaced, unless it is of a later event than this transaction sees (a
        -- concurrent writer committed first): then it stays. The same latest event with an
        -- earlier first one is an event that came late.
        ON CONFLICT (journey_id) DO UPDATE SET
            participant_id = EXCLUDED.participant_id, first_seq = EXCLUDED.first_seq,
            referral_unit = EXCLUDED.referral_unit, seq = EXCLUDED.seq, unit = EXCLUDED.unit,
            program_id = EXCLUDED.program_id, referred_at = EXCLUDED.referred_at, exited_at = EXCLUDED.exited_at,
            exit_reason = EXCLUDED.exit_reason, fingerprint = EXCLUDED.fingerprint
        WHERE EXCLUDED.seq > r.seq OR (EXCLUDED.seq = r.seq AND EXCLUDED.first_seq < r.first_seq)
        RETURNING r.journey_id, r.fingerprint
    )
    SELECT array_agg(up.journey_id) INTO changed
    FROM up LEFT JOIN before b USING (journey_id)
    WHERE up.fingerprint IS DISTINCT FROM b.fingerprint;

    IF changed IS NULL THEN
        RETURN;
    END IF;
    -- The deadline rows of the journeys whose copy changed, from their latest event again.
    DELETE FROM report_deadlines WHERE journey_id = ANY (changed);
    INSERT INTO report_deadlines (journey_id, ord, deadline_id, kind, due_at, met_at, status, due_month, step,
                                  referral_unit, unit, program_id, referred_at, referred_month, exited_at)
    SELECT r.journey_id, d.ord, d.id, d.kind, d.due_at, d.met_at, d.status,
           to_char(d.due_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'),
           -- Only a well-formed step-N: an odd id must not fail the journal's write (the step
           -- report fails on the missing number instead, as it failed on the id before).
           CASE WHEN d.kind = 'step' AND d.id ~ '^step-[0-9]{1,9}$' THEN substring(d.id from 6)::int END,
           r.referral_unit, r.unit, r.program_id, r.referred_at,
           to_char(r.referred_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'), r.exited_at
    FROM report_journeys r
    CROSS JOIN LATERAL (SELECT e.snapshot FROM journey_events e WHERE e.journey_id = r.journey_id AND e.seq = r.seq LIMIT 1) e
    CROSS JOIN LATERAL report_deadlines_of(e.snapshot) d
    WHERE r.journey_id = ANY (changed)
    -- In the order the reports read them: a bulk load (a COPY of thousands of journeys)
    -- then keeps a unit's plans, or steps, on neighbouring pages rather than on every page.
    ORDER BY d.kind, r.referral_unit, r.referred_at;
END $$;

-- After each statement that adds events (one INSERT of RecordJourneyEvents' batch, or a
-- whole COPY), the journeys it touched are worked out again, once each.
CREATE FUNCTION report_journey_events_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text[] := ARRAY(SELECT DISTINCT journey_id FROM new_events);
BEGIN
    PERFORM report_refresh(ids);
    -- A bulk load (a COPY of many journeys at once) changes the projection's size in one go:
    -- its statistics are taken again, so that the reports' plans fit what is there now.
    -- Autovacuum would do this later, where it runs; a report must not wait for it.
    IF cardinality(ids) >= 1000 THEN
        ANALYZE report_journeys, report_deadlines;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER report_journey_events_inserted AFTER INSERT ON journey_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION report_journey_events_inserted();

-- The events already there.
SELECT report_refresh(ARRAY(SELECT DISTINCT journey_id FROM journey_events));
ANALYZE report_journeys, report_deadlines;

-- The managers' lists on the read model.
-- A participant's open deadlines, for the list's next due date, overdue count and
-- escalation: one small probe per participant listed.
CREATE INDEX deadlines_open_participant_idx ON deadlines (participant_id) INCLUDE (due_at, escalation_level)
    WHERE status = 'open';
