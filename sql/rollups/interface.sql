-- The interface between imports and the rollup steps: what a step may read, in one place.
--
-- Every step runs in the tenant's schema (search_path: the tenant's schema, then hotpot_lib) and time
-- zone, so ::date and date_trunc give tenant-local days. Besides the tenant's tables a step may read:
--
--   events steps     rollup_source: the events being folded, columns event_id, occurred_at, user_id,
--                    note_id, event_type, dwell_ms, surface, variant. During a fold it is a temporary
--                    table of the pending loads' events (each stored event once: duplicates were dropped
--                    at the import); in a rebuild a view of the stored events. Plus rollup_note_day_delta
--                    below.
--   notes.*          import_notes (the staged file, one row per line, `line` numbered) and
--                    rollup_latest_notes, rollup_published_notes below; `notes` is the table as it was
--                    in .before steps and as it is in .after steps.
--   users.*          import_users and rollup_latest_users below; `users` as for notes.
--   note_tags.*      import_note_tags (the staged tags of the file's notes); `note_tags` as for notes.
--   rebuild          the tenant's tables: a rollup that events do not feed rebuilds itself here.
--
-- A step may also read what a rollup it `requires` (sql/rollups/manifest.yaml) provides: temporary
-- tables that rollup's events step fills. The engine drops every provided table after each run.

-- step: events
-- What this run adds per note and day: note_daily takes it, and tag_daily spreads it over the note's tags.
CREATE TEMP TABLE rollup_note_day_delta ON COMMIT DROP AS
SELECT note_id, occurred_at::date AS day,
       count(*) FILTER (WHERE event_type = 'impression') AS impressions,
       count(*) FILTER (WHERE event_type = 'click') AS clicks,
       count(*) FILTER (WHERE event_type = 'like') AS likes,
       count(*) FILTER (WHERE event_type = 'collect') AS collects,
       count(*) FILTER (WHERE event_type = 'comment') AS comments,
       count(*) FILTER (WHERE event_type = 'share') AS shares,
       count(*) FILTER (WHERE event_type = 'follow') AS follows,
       coalesce(sum(dwell_ms), 0) AS dwell_sum, count(dwell_ms) AS dwell_count
FROM rollup_source
GROUP BY 1, 2;

-- step: notes.before
-- The file's rows with the merge's "last row per note wins" rule, and the notes that are new or change
-- their publication time.
CREATE TEMP TABLE rollup_latest_notes ON COMMIT DROP AS
SELECT DISTINCT ON (note_id) * FROM import_notes ORDER BY note_id, line DESC;

CREATE TEMP TABLE rollup_published_notes ON COMMIT DROP AS
SELECT l.note_id
FROM rollup_latest_notes AS l
LEFT JOIN notes AS n ON n.note_id = l.note_id
WHERE n.published_at IS DISTINCT FROM l.published_at;

-- step: users.before
-- The file's rows with the merge's "last row per user wins" rule.
CREATE TEMP TABLE rollup_latest_users ON COMMIT DROP AS
SELECT DISTINCT ON (user_id) * FROM import_users ORDER BY user_id, line DESC;
