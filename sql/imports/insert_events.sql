-- Stores the new events of this import and registers their ids, in one statement: the staged rows
-- (each event_id at most once by now, sql/imports/drop_repeated_events.sql) minus event_ids already
-- stored. event_ids' primary key is what keeps events unique across the monthly partitions: an id
-- stored twice fails the import here instead of being kept twice. The ids go in sorted (byte order,
-- which sorts fastest and is the order of the C.UTF-8 index), so the B-tree is written page by page.
-- The staged rows are read in file order, so the heap follows the file (time order, as files come)
-- and the block-range indexes on occurred_at and import_id stay tight (sql/tenant/0016_events_brin.sql).
-- Returns how many were stored and the newest occurred_at among them. The rollup worker folds them
-- later (sql/rollups/interface.sql).
WITH stored AS (
    INSERT INTO events (event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, import_id)
    SELECT event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, $1
    FROM import_events AS s
    WHERE NOT EXISTS (SELECT 1 FROM event_ids AS k WHERE k.event_id = s.event_id)
    RETURNING event_id, occurred_at
), registered AS (
    INSERT INTO event_ids (event_id)
    SELECT event_id FROM stored ORDER BY event_id COLLATE "C"
)
SELECT count(*)::int8, max(occurred_at) FROM stored
