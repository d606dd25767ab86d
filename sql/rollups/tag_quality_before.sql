-- Notes and note_tags imports change the publication day or the tags of the notes listed in
-- rollup_tag_quality_notes (by sql/rollups/notes_before.sql or note_tags_before.sql). This script runs
-- before the merge and tag_quality_after.sql after it: those notes count out of tag_quality_days
-- (sql/tenant/0013_tag_quality_days.sql) as they were and back in as they are.

-- What the listed notes add to tag_quality_days.
CREATE TEMP VIEW rollup_tag_quality_rows AS
WITH per_version AS (
    SELECT t.note_id, coalesce(t.model_version, 'unknown') AS model_version, count(*) AS model_tags,
           count(*) FILTER (WHERE h.note_id IS NOT NULL) AS confirmed_tags,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM note_tags AS r WHERE r.note_id = t.note_id AND r.source = 'human')) AS reviewed_model_tags
    FROM rollup_tag_quality_notes AS s
    JOIN note_tags AS t ON t.note_id = s.note_id
    LEFT JOIN note_tags AS h ON h.note_id = t.note_id AND h.tag = t.tag AND h.source = 'human'
    WHERE t.source = 'model'
    GROUP BY 1, 2
)
SELECT n.published_at::date AS day, v.model_version, 0 AS notes_published, 1 AS notes_tagged,
       v.model_tags, v.confirmed_tags, v.reviewed_model_tags
FROM per_version AS v
JOIN notes AS n ON n.note_id = v.note_id
UNION ALL
SELECT n.published_at::date, NULL, 1, (count(v.note_id) > 0)::int, coalesce(sum(v.model_tags), 0),
       coalesce(sum(v.confirmed_tags), 0), coalesce(sum(v.reviewed_model_tags), 0)
FROM rollup_tag_quality_notes AS s
JOIN notes AS n ON n.note_id = s.note_id
LEFT JOIN per_version AS v ON v.note_id = n.note_id
GROUP BY n.note_id, n.published_at;

CREATE TEMP TABLE rollup_tag_quality_change ON COMMIT DROP AS
SELECT r.*, -1 AS sign FROM rollup_tag_quality_rows AS r;
