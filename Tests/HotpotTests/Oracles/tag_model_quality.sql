WITH published AS (
    SELECT note_id FROM notes WHERE published_at::date BETWEEN :from AND :to
), model AS (
    SELECT m.note_id, m.tag, coalesce(m.model_version, 'unknown') AS model_version,
           h.note_id IS NOT NULL AS confirmed,
           m.note_id IN (SELECT note_id FROM note_tags WHERE source = 'human') AS reviewed
    FROM note_tags AS m
    LEFT JOIN note_tags AS h ON h.note_id = m.note_id AND h.tag = m.tag AND h.source = 'human'
    WHERE m.source = 'model' AND coalesce(m.confidence, 0) >= :min_confidence
      AND m.note_id IN (SELECT note_id FROM published)
), labelled AS (
    SELECT model_version, note_id, confirmed, reviewed FROM model
    UNION ALL
    SELECT 'all', note_id, confirmed, reviewed FROM model
), grouped AS (
    SELECT v.model_version,
           count(DISTINCT l.note_id)::int8 AS notes_tagged, count(l.note_id)::int8 AS model_tags,
           count(l.note_id) FILTER (WHERE l.confirmed)::int8 AS confirmed_tags,
           count(l.note_id) FILTER (WHERE l.reviewed)::int8 AS reviewed_model_tags
    FROM (SELECT DISTINCT model_version FROM model UNION SELECT 'all') AS v
    LEFT JOIN labelled AS l ON l.model_version = v.model_version
    GROUP BY v.model_version
)
SELECT model_version, (SELECT count(*) FROM published)::int8 AS notes_published, notes_tagged,
       notes_tagged::float8 / NULLIF((SELECT count(*) FROM published), 0)::float8 AS coverage,
       model_tags, confirmed_tags,
       confirmed_tags::float8 / NULLIF(model_tags, 0)::float8 AS precision,
       reviewed_model_tags,
       confirmed_tags::float8 / NULLIF(reviewed_model_tags, 0)::float8 AS precision_reviewed
FROM grouped
ORDER BY model_version = 'all', model_version
