/* ---
name: tag_leaderboard
title: Tag leaderboard
description: >-
  Per tag, over the tenant-local days `from`..`to`: notes = tagged notes with at least one event
  in the window; impressions, clicks and interactions (likes + collects + comments + shares) of
  those notes in the window; ctr = clicks / impressions and engagement_rate = interactions /
  impressions (NULL without impressions). A note counts once per tag however many sources tagged
  it. Model tags count only with confidence >= `min_confidence` (NULL confidence counts as 0);
  human and creator tags always count. `sources` restricts which tag sources are used (default:
  all). A note with several tags counts for each, so tags overlap. Most impressions first, ties
  by tag, at most `limit` rows.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  min_confidence: {type: float, default: 0.5, min: 0.0, max: 1.0}
  sources: {type: "text[]", optional: true, allowed: [model, human, creator]}
  limit: {type: int, default: 50, min: 1, max: 10000}
--- */
WITH tagged AS (
    SELECT DISTINCT note_id, tag
    FROM note_tags
    WHERE (:sources IS NULL OR source = ANY(:sources))
      AND (source <> 'model' OR coalesce(confidence, 0) >= :min_confidence)
), per_note AS (
    -- Counts over [from, to] of the notes with events in them (see hotpot_lib.note_window).
    SELECT note_id, impressions, clicks, likes + collects + comments + shares AS interactions
    FROM hotpot_lib.note_window(:from, :to)
), per_tag AS (
    -- With the default tag filter, from the tag rollups (tag_daily, tag_note_days: each note once, on its
    -- first active day in the range); otherwise from the notes' running totals and note_tags.
    SELECT n.tag, n.notes::int8, s.impressions::int8, s.clicks::int8, s.interactions::int8
    FROM (SELECT tag, sum(notes) AS notes FROM tag_note_days
          WHERE day BETWEEN :from AND :to AND (prev_day IS NULL OR prev_day < :from)
          GROUP BY tag) AS n
    JOIN (SELECT tag, sum(impressions) AS impressions, sum(clicks) AS clicks,
                 sum(likes + collects + comments + shares) AS interactions
          FROM tag_daily WHERE day BETWEEN :from AND :to GROUP BY tag) AS s ON s.tag = n.tag
    WHERE :sources IS NULL AND :min_confidence = 0.5
    UNION ALL
    SELECT t.tag, count(*)::int8 AS notes, sum(p.impressions)::int8 AS impressions,
           sum(p.clicks)::int8 AS clicks, sum(p.interactions)::int8 AS interactions
    FROM tagged AS t
    JOIN per_note AS p ON p.note_id = t.note_id
    WHERE NOT (:sources IS NULL AND :min_confidence = 0.5)
    GROUP BY t.tag
)
SELECT tag, notes, impressions, clicks, interactions,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       interactions::float8 / NULLIF(impressions, 0)::float8 AS engagement_rate
FROM per_tag
ORDER BY impressions DESC, tag
LIMIT :limit
