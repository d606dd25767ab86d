WITH s AS (
    SELECT coalesce(surface, 'unknown') AS surface,
           count(*) FILTER (WHERE event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE event_type = 'click')::int8 AS clicks
    FROM events
    WHERE occurred_at::date BETWEEN :from AND :to
    GROUP BY 1
)
SELECT surface, impressions, clicks,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       impressions::float8 / NULLIF((SELECT sum(impressions) FROM s), 0)::float8 AS impression_share,
       clicks::float8 / NULLIF((SELECT sum(clicks) FROM s), 0)::float8 AS click_share
FROM s
WHERE impressions > 0 OR clicks > 0
ORDER BY impressions DESC, surface
