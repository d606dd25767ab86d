-- Per-user sums straight from the events (dwell capped per event); the statistics are
-- hotpot_lib.ratio_experiment's (checked against an independent computation in ExperimentTests).
WITH per_day AS (
    SELECT user_id, variant, occurred_at::date AS day,
           CASE :metric
               WHEN 'ctr' THEN count(*) FILTER (WHERE event_type = 'click')
               WHEN 'clicks_per_user' THEN count(*) FILTER (WHERE event_type = 'click')
               WHEN 'engagement_per_impression' THEN count(*) FILTER (WHERE event_type IN ('like', 'collect', 'comment', 'share', 'follow'))
               WHEN 'dwell_per_impression' THEN coalesce(sum(CASE WHEN dwell_ms > coalesce(:dwell_cap_ms, 300000) THEN coalesce(:dwell_cap_ms, 300000) ELSE dwell_ms END), 0)
           END::float8 AS x,
           count(*) FILTER (WHERE event_type = 'impression')::float8 AS impressions
    FROM events
    GROUP BY 1, 2, 3
), per_user AS (
    SELECT user_id, variant, sum(x) AS x, CASE WHEN :metric = 'clicks_per_user' THEN 1 ELSE sum(impressions) END AS y
    FROM per_day
    WHERE day BETWEEN :from AND :to AND variant IS NOT NULL
    GROUP BY 1, 2
    HAVING sum(impressions) > 0
), pre AS (
    SELECT user_id, sum(x) AS u, sum(impressions) AS v
    FROM per_day
    WHERE :cuped AND day BETWEEN :from - :pre_days::int AND :from - 1
    GROUP BY 1
), j AS (
    SELECT p.variant, p.x, p.y, coalesce(q.u, 0) AS u,
           CASE WHEN :metric = 'clicks_per_user' THEN 1 ELSE coalesce(q.v, 0) END AS v
    FROM per_user AS p LEFT JOIN pre AS q USING (user_id)
), arms AS (
    SELECT array_agg(m) AS arms FROM (
        SELECT ROW(variant, count(*), sum(x), sum(y), sum(x * x), sum(y * y), sum(x * y),
                   CASE WHEN :cuped THEN sum(u) END, CASE WHEN :cuped THEN sum(v) END, CASE WHEN :cuped THEN sum(u * u) END,
                   CASE WHEN :cuped THEN sum(v * v) END, CASE WHEN :cuped THEN sum(u * v) END, CASE WHEN :cuped THEN sum(x * u) END,
                   CASE WHEN :cuped THEN sum(x * v) END, CASE WHEN :cuped THEN sum(y * u) END, CASE WHEN :cuped THEN sum(y * v) END)::hotpot_lib.arm_moments AS m
        FROM j GROUP BY variant) AS s
)
SELECT r.variant, r.is_control, r.users, r.numerator, r.denominator, r.ratio AS value,
       r.lift, r.lift_ci_low, r.lift_ci_high, r.p_value, r.p_value_adjusted, r.srm_p_value, r.mde,
       r.variance_reduction, r.warnings
FROM arms AS a
CROSS JOIN LATERAL hotpot_lib.ratio_experiment(a.arms, :control, :split,
    (SELECT count(*) FROM (SELECT user_id FROM per_user GROUP BY 1 HAVING count(*) > 1) AS s)) AS r
