/* ---
name: impressions_daily
title: Impressions by day
description: >-
  Number of impression events per tenant-local day, one row for every day from `from` to `to`
  inclusive (0 on days without impressions). With `surface`, only impressions on that surface.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  surface: {type: text, optional: true, allowed: [feed, search, profile]}
--- */
SELECT d.day, coalesce(t.impressions, 0)::int8 AS impressions
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN (
    SELECT day, sum(impressions) AS impressions
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
    GROUP BY day
) AS t ON t.day = d.day
ORDER BY d.day
