-- hotpot_lib.variant_moments read its settings (which branch, the window) from a one-row CTE; the
-- guards and the window now use the arguments directly, so the planner makes the raw-events branch a
-- one-time filter and the window an index condition whatever the caller's plan. Same results. (The
-- readout's cost is reading the window's per-user-day rows: 333k rows, ~650 ms, on 1M events.)
SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION hotpot_lib.variant_moments(metric text, from_day date, to_day date, cuped boolean DEFAULT false,
                                           pre_days bigint DEFAULT 14, dwell_cap_ms bigint DEFAULT NULL)
RETURNS TABLE (arms hotpot_lib.arm_moments[], users_in_several_variants bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH days AS (
    SELECT r.user_id, r.variant, r.day, r.impressions, r.clicks, r.engagements, r.dwell_capped AS dwell
    FROM user_variant_daily AS r
    WHERE NOT (metric = 'dwell_per_impression' AND coalesce(dwell_cap_ms, hotpot_lib.default_dwell_cap_ms()) <> hotpot_lib.default_dwell_cap_ms())
      AND r.day BETWEEN CASE WHEN cuped THEN from_day - least(greatest(pre_days, 1), 3650)::int ELSE from_day END AND to_day
    UNION ALL
    SELECT e.user_id, e.variant, e.occurred_at::date, count(*) FILTER (WHERE e.event_type = 'impression'),
           count(*) FILTER (WHERE e.event_type = 'click'), 0, coalesce(sum(least(e.dwell_ms, dwell_cap_ms)) FILTER (WHERE e.dwell_ms IS NOT NULL), 0)
    FROM events AS e
    WHERE metric = 'dwell_per_impression' AND coalesce(dwell_cap_ms, hotpot_lib.default_dwell_cap_ms()) <> hotpot_lib.default_dwell_cap_ms()
      AND e.occurred_at >= (CASE WHEN cuped THEN from_day - least(greatest(pre_days, 1), 3650)::int ELSE from_day END)::timestamptz
      AND e.occurred_at < (to_day + 1)::timestamptz
    GROUP BY 1, 2, 3
), measured AS (
    SELECT d.user_id, d.variant, d.day, d.impressions,
           CASE metric WHEN 'ctr' THEN d.clicks WHEN 'dwell_per_impression' THEN d.dwell
                       WHEN 'engagement_per_impression' THEN d.engagements WHEN 'clicks_per_user' THEN d.clicks END::float8 AS x,
           d.impressions::float8 AS y
    FROM days AS d
), per_user AS (
    SELECT v.user_id, v.variant, sum(v.x) AS x,
           CASE WHEN metric = 'clicks_per_user' THEN 1 ELSE sum(v.y) END AS y
    FROM measured AS v
    WHERE v.day BETWEEN from_day AND to_day AND v.variant IS NOT NULL
    GROUP BY 1, 2
    HAVING sum(v.impressions) > 0
), pre AS (
    SELECT v.user_id, sum(v.x) AS u, sum(v.y) AS v
    FROM measured AS v
    WHERE cuped AND v.day < from_day
    GROUP BY 1
), joined AS (
    SELECT p.variant, p.x, p.y, coalesce(q.u, 0) AS u,
           CASE WHEN metric = 'clicks_per_user' THEN 1 ELSE coalesce(q.v, 0) END AS v
    FROM per_user AS p
    LEFT JOIN pre AS q ON q.user_id = p.user_id
), arms AS (
    SELECT ROW(j.variant, count(*), sum(j.x), sum(j.y), sum(j.x * j.x), sum(j.y * j.y), sum(j.x * j.y),
               CASE WHEN cuped THEN sum(j.u) END, CASE WHEN cuped THEN sum(j.v) END,
               CASE WHEN cuped THEN sum(j.u * j.u) END, CASE WHEN cuped THEN sum(j.v * j.v) END,
               CASE WHEN cuped THEN sum(j.u * j.v) END, CASE WHEN cuped THEN sum(j.x * j.u) END,
               CASE WHEN cuped THEN sum(j.x * j.v) END, CASE WHEN cuped THEN sum(j.y * j.u) END,
               CASE WHEN cuped THEN sum(j.y * j.v) END)::hotpot_lib.arm_moments AS moments
    FROM joined AS j
    GROUP BY j.variant
)
SELECT (SELECT array_agg(moments) FROM arms),
       (SELECT count(*) FROM (SELECT user_id FROM per_user GROUP BY 1 HAVING count(*) > 1) AS several)
$$;
