WITH tagged AS (
    SELECT DISTINCT note_id, tag FROM note_tags
    WHERE (:sources IS NULL OR source = ANY(:sources))
      AND (source <> 'model' OR coalesce(confidence, 0) >= :min_confidence)
      AND (:tags IS NULL OR tag = ANY(:tags))
), imps AS (
    SELECT note_id, occurred_at::date AS day FROM events
    WHERE event_type = 'impression' AND occurred_at::date BETWEEN :from AND :to
), chosen AS (
    SELECT t.tag FROM tagged AS t JOIN imps AS i ON i.note_id = t.note_id
    GROUP BY t.tag
    ORDER BY count(*) DESC, t.tag
    LIMIT CASE WHEN :tags IS NULL THEN :limit END
)
SELECT d.day, c.tag,
       (SELECT count(*) FROM imps AS i JOIN tagged AS t ON t.note_id = i.note_id WHERE t.tag = c.tag AND i.day = d.day)::int8 AS impressions,
       (SELECT count(*) FROM imps AS i WHERE i.day = d.day)::int8 AS total_impressions,
       (SELECT count(*) FROM imps AS i JOIN tagged AS t ON t.note_id = i.note_id WHERE t.tag = c.tag AND i.day = d.day)::float8
           / NULLIF((SELECT count(*) FROM imps AS i WHERE i.day = d.day), 0)::float8 AS share
FROM generate_series(:from, :to, interval '1 day') AS g(ts)
CROSS JOIN LATERAL (SELECT g.ts::date AS day) AS d
CROSS JOIN chosen AS c
ORDER BY d.day, c.tag
