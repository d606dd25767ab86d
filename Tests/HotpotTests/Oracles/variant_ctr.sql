WITH v AS (
    SELECT variant,
           count(*) FILTER (WHERE event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE event_type = 'click')::int8 AS clicks,
           count(DISTINCT user_id) FILTER (WHERE event_type = 'impression')::int8 AS users
    FROM events
    WHERE occurred_at::date BETWEEN :from AND :to AND variant IS NOT NULL
    GROUP BY variant
), s AS (
    SELECT v.*, v.clicks::float8 / NULLIF(v.impressions, 0)::float8 AS ctr,
           v.variant = CASE WHEN EXISTS (SELECT 1 FROM v AS x WHERE x.variant = :control) THEN :control
                            ELSE (SELECT min(variant) FROM v) END AS is_control
    FROM v
)
SELECT s.variant, s.is_control, s.users, s.impressions, s.clicks, s.ctr,
       CASE WHEN NOT s.is_control THEN s.ctr - c.ctr END AS ctr_diff,
       CASE WHEN NOT s.is_control THEN (s.ctr - c.ctr) - 1.96 * sqrt(greatest(s.ctr * (1 - s.ctr), 0) / NULLIF(s.impressions, 0) + greatest(c.ctr * (1 - c.ctr), 0) / NULLIF(c.impressions, 0)) END AS ctr_diff_ci_low,
       CASE WHEN NOT s.is_control THEN (s.ctr - c.ctr) + 1.96 * sqrt(greatest(s.ctr * (1 - s.ctr), 0) / NULLIF(s.impressions, 0) + greatest(c.ctr * (1 - c.ctr), 0) / NULLIF(c.impressions, 0)) END AS ctr_diff_ci_high,
       CASE WHEN NOT s.is_control THEN s.ctr / NULLIF(c.ctr, 0) - 1 END AS lift,
       CASE WHEN NOT s.is_control THEN hotpot_lib.two_proportion_p(c.clicks, c.impressions, s.clicks, s.impressions) END AS p_value
FROM s, s AS c
WHERE c.is_control
ORDER BY s.is_control DESC, s.variant
