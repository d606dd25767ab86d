-- Run by a notes import before its merge (sql/imports/merge_notes.sql), with the same "last row per
-- note wins" rule: every note whose type changes takes its dwell histogram to the new type, and the
-- notes that are new or change their publication time are noted for sql/rollups/notes_after.sql.
CREATE TEMP TABLE rollup_published_notes ON COMMIT DROP AS
SELECT l.note_id
FROM (SELECT DISTINCT ON (note_id) note_id, published_at FROM import_notes ORDER BY note_id, line DESC) AS l
LEFT JOIN notes AS n ON n.note_id = l.note_id
WHERE n.published_at IS DISTINCT FROM l.published_at;

WITH latest AS (
    SELECT DISTINCT ON (note_id) note_id, coalesce(note_type, 'unknown') AS note_type
    FROM import_notes
    ORDER BY note_id, line DESC
), changed AS (
    SELECT l.note_id, l.note_type, coalesce(n.note_type, 'unknown') AS old_type
    FROM latest AS l
    LEFT JOIN notes AS n ON n.note_id = l.note_id
    WHERE l.note_type <> coalesce(n.note_type, 'unknown')
)
INSERT INTO dwell_type_daily AS r (day, note_type, bucket, events)
SELECT h.day, v.note_type, h.bucket, sum(v.sign * h.events)
FROM changed AS c
JOIN dwell_histogram AS h ON h.note_id = c.note_id
CROSS JOIN LATERAL (VALUES (c.old_type, -1), (c.note_type, 1)) AS v(note_type, sign)
GROUP BY 1, 2, 3
HAVING sum(v.sign * h.events) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (day, note_type, bucket) DO UPDATE SET events = r.events + excluded.events;

DELETE FROM dwell_type_daily WHERE events = 0;
