WITH tagged AS (
    SELECT DISTINCT note_id, tag FROM note_tags
    WHERE (:sources IS NULL OR source = ANY(:sources))
      AND (source <> 'model' OR coalesce(confidence, 0) >= :min_confidence)
      AND (:tags IS NULL OR tag = ANY(:tags))
), daily AS (
    SELECT t.tag, e.occurred_at::date AS day, count(*) AS interactions
    FROM tagged AS t
    JOIN events AS e ON e.note_id = t.note_id
    WHERE e.event_type IN ('like', 'collect', 'comment', 'share')
    GROUP BY 1, 2
), chosen AS (
    SELECT tag FROM daily WHERE day BETWEEN :from AND :to
    GROUP BY tag
    ORDER BY sum(interactions) DESC, tag
    LIMIT CASE WHEN :tags IS NULL THEN :limit END
), series AS (
    SELECT c.tag, :from + i AS day,
           coalesce((SELECT interactions FROM daily AS x WHERE x.tag = c.tag AND x.day = :from + i), 0)::int8 AS interactions,
           (SELECT coalesce(sum(interactions), 0) FROM daily AS x
             WHERE x.tag = c.tag AND x.day BETWEEN :from + i - :k::int AND :from + i - 1) AS s1,
           (SELECT coalesce(sum(interactions * interactions), 0) FROM daily AS x
             WHERE x.tag = c.tag AND x.day BETWEEN :from + i - :k::int AND :from + i - 1) AS s2
    FROM chosen AS c, generate_series(0, :to - :from) AS i
), moments AS (
    SELECT tag, day, interactions, s1::float8 / :k::float8 AS trailing_mean,
           sqrt(greatest((:k * s2 - s1 * s1)::float8, 0) / (:k * (:k - 1))::float8) AS trailing_stddev
    FROM series
)
SELECT tag, day, interactions, trailing_mean, trailing_stddev,
       (interactions - trailing_mean) / NULLIF(trailing_stddev, 0) AS z_score
FROM moments
ORDER BY tag, day
