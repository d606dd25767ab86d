SELECT day, impressions, clicks, clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr
FROM (
    SELECT d.day,
           count(*) FILTER (WHERE e.event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE e.event_type = 'click')::int8 AS clicks
    FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
    LEFT JOIN events AS e ON e.occurred_at::date = d.day AND (:surface IS NULL OR e.surface = :surface)
    GROUP BY d.day
) AS x
ORDER BY day
