-- The events of this import that are new: the first occurrence of each event_id in the file, minus
-- event_ids already stored. The rollup worker folds them later (sql/rollups/interface.sql).
CREATE TEMP TABLE rollup_source ON COMMIT DROP AS
SELECT DISTINCT ON (event_id) event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant
FROM import_events s
WHERE NOT EXISTS (SELECT 1 FROM event_ids k WHERE k.event_id = s.event_id)
ORDER BY event_id, line;

-- Row counts for the planner: the rollup statements group this table many ways.
ANALYZE rollup_source
