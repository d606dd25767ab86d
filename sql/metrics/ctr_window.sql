/* ---
name: ctr_window
title: Click-through rate over a window
description: >-
  One row for the tenant-local days `from` to `to` inclusive: total impressions, total clicks and
  ctr = clicks / impressions (a fraction); ctr is NULL when there were no impressions. With
  `surface`, only events on that surface.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  surface: {type: text, optional: true, allowed: [feed, search, profile]}
--- */
SELECT :from AS from_day, :to AS to_day,
       coalesce(sum(impressions), 0)::int8 AS impressions,
       coalesce(sum(clicks), 0)::int8 AS clicks,
       sum(clicks)::float8 / NULLIF(sum(impressions), 0)::float8 AS ctr
FROM traffic_daily
WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
