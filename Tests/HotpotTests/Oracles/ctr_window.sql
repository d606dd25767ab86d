SELECT :from AS from_day, :to AS to_day, impressions, clicks,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr
FROM (
    SELECT count(*) FILTER (WHERE event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE event_type = 'click')::int8 AS clicks
    FROM events
    WHERE occurred_at::date BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
) AS x
