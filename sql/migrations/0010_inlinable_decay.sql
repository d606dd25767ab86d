-- hotpot_lib.decay was declared STRICT around a body that is not (GREATEST ignores NULLs), which stops
-- PostgreSQL from inlining it: every call went through the SQL-function executor, about 5 µs each,
-- half of hot_notes' time on 10M events. Not STRICT, with the NULL handling written out (NULL in, NULL
-- out, as before), it inlines into the calling query.
CREATE OR REPLACE FUNCTION hotpot_lib.decay(score double precision, age_hours double precision, gravity double precision DEFAULT 1.8)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN age_hours IS NOT NULL THEN score / power(GREATEST(age_hours, 0) + 2, gravity) END
$$;
