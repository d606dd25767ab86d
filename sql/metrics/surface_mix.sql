/* ---
name: surface_mix
title: Traffic by surface
description: >-
  Over the tenant-local days `from`..`to`: one row per surface (feed, search, profile, ...;
  'unknown' for events without a surface) with impressions, clicks, ctr = clicks / impressions
  (NULL without impressions), impression_share = the surface's impressions / all impressions and
  click_share = the surface's clicks / all clicks (fractions; NULL when the total is 0). Most
  impressions first, ties by surface. Surfaces with no impressions or clicks in the window are not
  listed.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
--- */
WITH s AS (
    SELECT coalesce(surface, 'unknown') AS surface, sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to
    GROUP BY 1
    HAVING sum(impressions) > 0 OR sum(clicks) > 0
)
SELECT surface, impressions, clicks,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       impressions::float8 / NULLIF(sum(impressions) OVER (), 0)::float8 AS impression_share,
       clicks::float8 / NULLIF(sum(clicks) OVER (), 0)::float8 AS click_share
FROM s
ORDER BY impressions DESC, surface
