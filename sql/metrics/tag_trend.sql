/* ---
name: tag_trend
title: Tag trend and burst detection
description: >-
  Per tag and tenant-local day from `from` to `to` (every day listed): interactions = likes +
  collects + comments + shares on notes carrying the tag that day; trailing_mean and
  trailing_stddev = mean and sample standard deviation of the tag's daily interactions over the
  `k` days before that day (days without interactions count as 0); z_score = (interactions -
  trailing_mean) / trailing_stddev, the burst score (NULL when trailing_stddev is 0). Tags: those
  in `tags` if given, else the `limit` tags with the most interactions in the window (ties by tag;
  tags without interactions are not listed). Tag assignment as in tag_leaderboard: model tags with
  confidence >= `min_confidence` (NULL counts as 0), human and creator tags always, restricted to
  `sources` if given; a note counts once per tag.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  k: {type: int, default: 7, min: 2, max: 90}
  tags: {type: "text[]", optional: true}
  min_confidence: {type: float, default: 0.5, min: 0.0, max: 1.0}
  sources: {type: "text[]", optional: true, allowed: [model, human, creator]}
  limit: {type: int, default: 10, min: 1, max: 200}
--- */
WITH tagged AS (
    SELECT DISTINCT note_id, tag
    FROM note_tags
    WHERE (:sources IS NULL OR source = ANY(:sources))
      AND (source <> 'model' OR coalesce(confidence, 0) >= :min_confidence)
      AND (:tags IS NULL OR tag = ANY(:tags))
), daily AS (
    -- With the default tag filter, from the tag_daily rollup; otherwise from the notes' daily rows.
    SELECT tag, day, (likes + collects + comments + shares)::int8 AS interactions
    FROM tag_daily
    WHERE :sources IS NULL AND :min_confidence = 0.5
      AND day BETWEEN :from - :k::int AND :to AND (:tags IS NULL OR tag = ANY(:tags))
    UNION ALL
    SELECT t.tag, d.day, sum(d.likes + d.collects + d.comments + d.shares)::int8
    FROM tagged AS t
    JOIN note_daily AS d ON d.note_id = t.note_id
    WHERE NOT (:sources IS NULL AND :min_confidence = 0.5)
      AND d.day BETWEEN :from - :k::int AND :to
    GROUP BY t.tag, d.day
), chosen AS (
    SELECT tag
    FROM daily
    WHERE day BETWEEN :from AND :to
    GROUP BY tag
    HAVING sum(interactions) > 0
    ORDER BY sum(interactions) DESC, tag
    LIMIT CASE WHEN :tags IS NULL THEN :limit END
), dense AS (
    SELECT c.tag, g.day, coalesce(x.interactions, 0) AS interactions
    FROM chosen AS c
    CROSS JOIN (SELECT :from - :k::int + i AS day FROM generate_series(0, :to - :from + :k::int) AS s(i)) AS g
    LEFT JOIN daily AS x ON x.tag = c.tag AND x.day = g.day
), stats AS (
    SELECT tag, day, interactions,
           count(*) OVER w AS n,
           sum(interactions) OVER w AS s1,
           sum(interactions * interactions) OVER w AS s2
    FROM dense
    WINDOW w AS (PARTITION BY tag ORDER BY day ROWS BETWEEN :k PRECEDING AND 1 PRECEDING)
), moments AS (
    SELECT tag, day, interactions,
           s1::float8 / n::float8 AS trailing_mean,
           sqrt(greatest((n * s2 - s1 * s1)::float8, 0) / (n * (n - 1))::float8) AS trailing_stddev
    FROM stats
    WHERE day >= :from
)
SELECT tag, day, interactions, trailing_mean, trailing_stddev,
       (interactions - trailing_mean) / NULLIF(trailing_stddev, 0) AS z_score
FROM moments
ORDER BY tag, day
