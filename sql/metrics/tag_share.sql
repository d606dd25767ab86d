/* ---
name: tag_share
title: Tag share of impressions by day
description: >-
  Per tenant-local day from `from` to `to` (every day listed) and tag: impressions = impressions
  of notes carrying the tag that day, total_impressions = all impressions that day, and share =
  impressions / total_impressions (a fraction; NULL when total_impressions is 0). Notes can carry
  several tags, so shares of different tags can add up to more than 1. Tags: those in `tags` if
  given, else the `limit` tags with the most impressions in the window (ties by tag; tags without
  impressions in the window are not listed). Tag assignment as in tag_leaderboard: model tags with
  confidence >= `min_confidence` (NULL counts as 0), human and creator tags always, restricted to
  `sources` if given; a note counts once per tag.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
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
    SELECT tag, day, impressions
    FROM tag_daily
    WHERE :sources IS NULL AND :min_confidence = 0.5
      AND day BETWEEN :from AND :to AND (:tags IS NULL OR tag = ANY(:tags))
    UNION ALL
    SELECT t.tag, d.day, sum(d.impressions)::int8
    FROM tagged AS t
    JOIN note_daily AS d ON d.note_id = t.note_id
    WHERE NOT (:sources IS NULL AND :min_confidence = 0.5)
      AND d.day BETWEEN :from AND :to
    GROUP BY t.tag, d.day
), chosen AS (
    SELECT tag
    FROM daily
    GROUP BY tag
    HAVING sum(impressions) > 0
    ORDER BY sum(impressions) DESC, tag
    LIMIT CASE WHEN :tags IS NULL THEN :limit END
), totals AS (
    SELECT day, sum(impressions)::int8 AS impressions
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to
    GROUP BY day
)
SELECT g.day, c.tag,
       coalesce(x.impressions, 0)::int8 AS impressions,
       coalesce(tt.impressions, 0)::int8 AS total_impressions,
       coalesce(x.impressions, 0)::float8 / NULLIF(tt.impressions, 0)::float8 AS share
FROM (SELECT :from + i AS day FROM generate_series(0, :to - :from) AS s(i)) AS g
CROSS JOIN chosen AS c
LEFT JOIN daily AS x ON x.tag = c.tag AND x.day = g.day
LEFT JOIN totals AS tt ON tt.day = g.day
ORDER BY g.day, c.tag
