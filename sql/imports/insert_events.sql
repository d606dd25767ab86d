-- Stores the new events of this import: the first occurrence of each event_id in the file (by line),
-- minus event_ids already stored (the event_ids trigger on events rejects any id stored twice). They go
-- in in file order, so the heap follows the file (time order, as files come) and the block-range
-- indexes on occurred_at and import_id stay tight (sql/tenant/0016_events_brin.sql). Returns how many
-- were stored and the newest occurred_at among them. The rollup worker folds them later
-- (sql/rollups/interface.sql).
WITH stored AS (
    INSERT INTO events (event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, import_id)
    SELECT event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, $1
    FROM (
        SELECT DISTINCT ON (event_id) event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, line
        FROM import_events AS s
        WHERE NOT EXISTS (SELECT 1 FROM event_ids AS k WHERE k.event_id = s.event_id)
        ORDER BY event_id, line
    ) AS fresh
    ORDER BY line
    RETURNING occurred_at
)
SELECT count(*)::int8, max(occurred_at) FROM stored
