/* ---
name: ctr_daily
title: Click-through rate by day
description: >-
  Per tenant-local day from `from` to `to` (every day listed): impressions, clicks and
  ctr = clicks / impressions (a fraction, 0.05 = 5%); ctr is NULL on days with no impressions.
  Clicks and impressions are counted independently (a click need not follow an impression on the
  same day). With `surface`, only events on that surface.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  surface: {type: text, optional: true, allowed: [feed, search, profile]}
columns:
  impressions: {unit: count, format: "0,0"}
  clicks: {unit: count, format: "0,0"}
  ctr: {unit: percent, format: "0.00%"}
--- */
SELECT d.day,
       coalesce(t.impressions, 0)::int8 AS impressions,
       coalesce(t.clicks, 0)::int8 AS clicks,
       t.clicks::float8 / NULLIF(t.impressions, 0)::float8 AS ctr
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN (
    SELECT day, sum(impressions) AS impressions, sum(clicks) AS clicks
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
    GROUP BY day
) AS t ON t.day = d.day
ORDER BY d.day
