-- Stores the new events (the event_ids trigger on events rejects any id stored twice).
INSERT INTO events (event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, import_id)
SELECT event_id, occurred_at, user_id, note_id, event_type, dwell_ms, surface, variant, $1
FROM rollup_source
