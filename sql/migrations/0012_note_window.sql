-- hotpot_lib.note_window(from, to): each note's counts over the tenant-local days from..to, for the notes
-- with events in them, from the tenant's note_cumulative rollup (the row at `to` minus the row at
-- `from - 1`; see sql/tenant/0006_note_cumulative.sql). The built-in per-note rankings read it, and
-- analysts may too.
--
-- The body names note_cumulative without a schema: it is resolved, when a query uses the function, on
-- the caller's search_path, which for a tenant role starts with the tenant's own schema. So one function
-- serves every tenant and reads only the caller's data (it runs with the caller's rights). A plain SQL
-- body (STABLE, no SET clause) lets PostgreSQL inline it into the calling query, so it plans as if the
-- query had been written out. Bodies are checked when called, not here, where there is no note_cumulative.
SET LOCAL check_function_bodies = off;

CREATE FUNCTION hotpot_lib.note_window(from_day date, to_day date)
RETURNS TABLE (note_id text, impressions int8, clicks int8, likes int8, collects int8, comments int8, shares int8, follows int8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT w.note_id, w.impressions, w.clicks, w.likes, w.collects, w.comments, w.shares, w.follows
    FROM (SELECT t.note_id,
                 t.impressions - coalesce(b.impressions, 0) AS impressions, t.clicks - coalesce(b.clicks, 0) AS clicks,
                 t.likes - coalesce(b.likes, 0) AS likes, t.collects - coalesce(b.collects, 0) AS collects,
                 t.comments - coalesce(b.comments, 0) AS comments, t.shares - coalesce(b.shares, 0) AS shares,
                 t.follows - coalesce(b.follows, 0) AS follows
          FROM note_cumulative AS t
          LEFT JOIN note_cumulative AS b
              ON b.day = (SELECT least(from_day - 1, max(day)) FROM note_cumulative) AND b.note_id = t.note_id
          WHERE t.day = (SELECT least(to_day, max(day)) FROM note_cumulative)) AS w
    WHERE w.impressions + w.clicks + w.likes + w.collects + w.comments + w.shares + w.follows > 0
$$;

GRANT EXECUTE ON FUNCTION hotpot_lib.note_window(date, date) TO PUBLIC;
