DROP FUNCTION deadlines_of(jsonb);
