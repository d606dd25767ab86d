WITH tagged AS (
    SELECT DISTINCT note_id, tag FROM note_tags
    WHERE (:sources IS NULL OR source = ANY(:sources))
      AND (source <> 'model' OR coalesce(confidence, 0) >= :min_confidence)
      AND (:tags IS NULL OR tag = ANY(:tags))
), imps AS (
    SELECT note_id, occurred_at::date AS day FROM events
    WHERE event_type = 'impression' AND occurred_at::date BETWEEN :from AND :to
), per_tag AS (
    SELECT t.tag, i.day, count(*) AS n FROM imps AS i JOIN tagged AS t ON t.note_id = i.note_id GROUP BY t.tag, i.day
), chosen AS (
    SELECT tag FROM per_tag
    GROUP BY tag
    ORDER BY sum(n) DESC, tag
    LIMIT CASE WHEN :tags IS NULL THEN :limit END
), totals AS (
    SELECT day, count(*) AS n FROM imps GROUP BY day
)
SELECT d.day, c.tag,
       coalesce(p.n, 0)::int8 AS impressions,
       coalesce(tt.n, 0)::int8 AS total_impressions,
       coalesce(p.n, 0)::float8 / NULLIF(tt.n, 0)::float8 AS share
FROM generate_series(:from, :to, interval '1 day') AS g(ts)
CROSS JOIN LATERAL (SELECT g.ts::date AS day) AS d
CROSS JOIN chosen AS c
LEFT JOIN per_tag AS p ON p.tag = c.tag AND p.day = d.day
LEFT JOIN totals AS tt ON tt.day = d.day
ORDER BY d.day, c.tag
