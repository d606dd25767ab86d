-- Notes are upserts: the last row for a note_id in the file wins over earlier ones and over what
-- earlier imports stored. Returns (loaded, duplicate).
WITH latest AS (
    SELECT DISTINCT ON (note_id) * FROM import_notes ORDER BY note_id, line DESC
), upserted AS (
    INSERT INTO notes AS n (note_id, author_id, title, note_type, published_at, category, is_commercial, import_id, updated_at)
    SELECT note_id, author_id, title, note_type, published_at, category, is_commercial, $1, now() FROM latest
    ON CONFLICT (note_id) DO UPDATE SET
        author_id = excluded.author_id, title = excluded.title, note_type = excluded.note_type,
        published_at = excluded.published_at, category = excluded.category,
        is_commercial = excluded.is_commercial, import_id = excluded.import_id, updated_at = now()
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted)::int8, ((SELECT count(*) FROM import_notes) - (SELECT count(*) FROM upserted))::int8
