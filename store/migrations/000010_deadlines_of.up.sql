-- A snapshot's deadlines as an array, also when a snapshot holds none (JSON null or a
-- missing key): the reports expand them, and one odd row must not fail every report.
CREATE FUNCTION deadlines_of(snapshot jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(snapshot->'deadlines') WHEN 'array' THEN snapshot->'deadlines' ELSE '[]'::jsonb END
$$;
