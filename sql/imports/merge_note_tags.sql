-- Tags are upserts keyed by (note_id, tag, source); the last row in the file wins.
-- Returns (loaded, duplicate).
WITH latest AS (
    SELECT DISTINCT ON (note_id, tag, source) * FROM import_note_tags ORDER BY note_id, tag, source, line DESC
), upserted AS (
    INSERT INTO note_tags AS t (note_id, tag, source, confidence, model_version, import_id, updated_at)
    SELECT note_id, tag, source, confidence, model_version, $1, now() FROM latest
    ON CONFLICT (note_id, tag, source) DO UPDATE SET
        confidence = excluded.confidence, model_version = excluded.model_version,
        import_id = excluded.import_id, updated_at = now()
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted)::int8, ((SELECT count(*) FROM import_note_tags) - (SELECT count(*) FROM upserted))::int8
