SELECT day, impressions, clicks, interactions,
       interactions::float8 / NULLIF(clicks, 0)::float8 AS engagement_per_click,
       interactions::float8 / NULLIF(impressions, 0)::float8 AS engagement_per_impression
FROM (
    SELECT d.day,
           count(*) FILTER (WHERE e.event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE e.event_type = 'click')::int8 AS clicks,
           count(*) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share'))::int8 AS interactions
    FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
    LEFT JOIN events AS e ON e.occurred_at::date = d.day AND (:surface IS NULL OR e.surface = :surface)
    GROUP BY d.day
) AS x
ORDER BY day
