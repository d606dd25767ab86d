-- hotpot_lib.interest_segment(category, interests): how a note's category relates to the interests a user
-- chose at sign-up: 'matched' (one of them), 'unmatched' (not one of them) or 'unknown' (no category, or
-- no interests). The new-user rollups (sql/tenant/0011_new_user_segments.sql) and interest_match_ctr
-- segment events with it; analysts may call it. Plain SQL, IMMUTABLE and not STRICT, so it inlines.
CREATE FUNCTION hotpot_lib.interest_segment(category text, interests text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN category IS NULL OR coalesce(cardinality(interests), 0) = 0 THEN 'unknown'
                WHEN category = ANY(interests) THEN 'matched'
                ELSE 'unmatched' END
$$;

GRANT EXECUTE ON FUNCTION hotpot_lib.interest_segment(text, text[]) TO PUBLIC;
