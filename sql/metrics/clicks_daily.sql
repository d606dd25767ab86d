/* ---
name: clicks_daily
title: Clicks by day
description: >-
  Number of click events per tenant-local day, one row for every day from `from` to `to` inclusive
  (0 on days without clicks). With `surface`, only clicks on that surface.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  surface: {type: text, optional: true, allowed: [feed, search, profile]}
--- */
SELECT d.day, coalesce(t.clicks, 0)::int8 AS clicks
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN (
    SELECT day, sum(clicks) AS clicks
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
    GROUP BY day
) AS t ON t.day = d.day
ORDER BY d.day
