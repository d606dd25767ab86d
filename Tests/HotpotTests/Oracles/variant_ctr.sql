-- Per-user sums straight from the events; the statistics are hotpot_lib.ratio_experiment's (checked
-- against an independent computation in ExperimentTests).
WITH per_user AS (
    SELECT user_id, variant,
           count(*) FILTER (WHERE event_type = 'click')::float8 AS x,
           count(*) FILTER (WHERE event_type = 'impression')::float8 AS y
    FROM events
    WHERE occurred_at::date BETWEEN :from AND :to AND variant IS NOT NULL
    GROUP BY 1, 2
    HAVING count(*) FILTER (WHERE event_type = 'impression') > 0
), pre AS (
    SELECT user_id, count(*) FILTER (WHERE event_type = 'click')::float8 AS u,
           count(*) FILTER (WHERE event_type = 'impression')::float8 AS v
    FROM events
    WHERE :cuped AND occurred_at::date BETWEEN :from - :pre_days::int AND :from - 1
    GROUP BY 1
), j AS (
    SELECT p.variant, p.x, p.y, coalesce(q.u, 0) AS u, coalesce(q.v, 0) AS v FROM per_user AS p LEFT JOIN pre AS q USING (user_id)
), arms AS (
    SELECT array_agg(m) AS arms FROM (
        SELECT ROW(variant, count(*), sum(x), sum(y), sum(x * x), sum(y * y), sum(x * y),
                   CASE WHEN :cuped THEN sum(u) END, CASE WHEN :cuped THEN sum(v) END, CASE WHEN :cuped THEN sum(u * u) END,
                   CASE WHEN :cuped THEN sum(v * v) END, CASE WHEN :cuped THEN sum(u * v) END, CASE WHEN :cuped THEN sum(x * u) END,
                   CASE WHEN :cuped THEN sum(x * v) END, CASE WHEN :cuped THEN sum(y * u) END, CASE WHEN :cuped THEN sum(y * v) END)::hotpot_lib.arm_moments AS m
        FROM j GROUP BY variant) AS s
)
SELECT r.variant, r.is_control, r.users, r.denominator::int8 AS impressions, r.numerator::int8 AS clicks, r.ratio AS ctr,
       r.lift, r.lift_ci_low, r.lift_ci_high, r.p_value, r.p_value_adjusted, r.srm_p_value, r.mde,
       r.variance_reduction, r.warnings
FROM arms AS a
CROSS JOIN LATERAL hotpot_lib.ratio_experiment(a.arms, :control, :split,
    (SELECT count(*) FROM (SELECT user_id FROM per_user GROUP BY 1 HAVING count(*) > 1) AS s)) AS r
