/* ---
name: engagement_rate
title: Engagement rate by day
description: >-
  Per tenant-local day from `from` to `to` (every day listed): impressions, clicks,
  interactions = likes + collects + comments + shares (follows are not counted),
  engagement_per_click = interactions / clicks and engagement_per_impression = interactions /
  impressions (fractions). A rate is NULL on days where its denominator is 0. With `surface`, only
  events on that surface.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  surface: {type: text, optional: true, allowed: [feed, search, profile]}
--- */
SELECT d.day,
       coalesce(t.impressions, 0)::int8 AS impressions,
       coalesce(t.clicks, 0)::int8 AS clicks,
       coalesce(t.interactions, 0)::int8 AS interactions,
       t.interactions::float8 / NULLIF(t.clicks, 0)::float8 AS engagement_per_click,
       t.interactions::float8 / NULLIF(t.impressions, 0)::float8 AS engagement_per_impression
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN (
    SELECT day, sum(impressions) AS impressions, sum(clicks) AS clicks,
           sum(likes + collects + comments + shares) AS interactions
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
    GROUP BY day
) AS t ON t.day = d.day
ORDER BY d.day
