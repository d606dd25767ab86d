-- Experiment readouts from rollups: hotpot_lib.variant_moments reads, for a range of up to
-- hotpot_lib.variant_pair_days() days without CUPED and with the default dwell cap, the variants rollup
-- (sql/rollups/variants.sql: distinct users, day sums and pair sums per variant) instead of one row per
-- user and day of the range: its cost follows the range, not the users (333k rows, ~650 ms, on 1M events
-- before). Everything else (CUPED, other dwell caps, longer ranges) is hotpot_lib.variant_moments_scan,
-- the former body, which the tests also hold the rollup path to. Same results.
SET LOCAL check_function_bodies = off;

-- The longest range (in days) the variants rollup serves: it keeps the sums of every two days at most
-- this many days minus one apart. The rollup's fold reads and writes within this distance of its days.
CREATE FUNCTION hotpot_lib.variant_pair_days() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 92 $$;

-- The per-user scan: every user's sums over the range (and the pre-period for CUPED), from
-- user_variant_daily, or from the events for a dwell cap other than the rollup's.
CREATE FUNCTION hotpot_lib.variant_moments_scan(metric text, from_day date, to_day date, cuped boolean DEFAULT false,
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

-- The same moments from the variants rollup, for a range of up to hotpot_lib.variant_pair_days() days,
-- without CUPED, with the default dwell cap. A user of an arm is one with impressions in it in the range;
-- the pair sums also hold the few (user, variant) with clicks, engagements or dwell but no impressions
-- in the range, so their sums are taken back out (found through a partial index of user_variant_daily).
CREATE FUNCTION hotpot_lib.variant_moments_from_rollups(metric text, from_day date, to_day date)
RETURNS TABLE (arms hotpot_lib.arm_moments[], users_in_several_variants bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH users AS (
    SELECT variant, sum(users)::bigint AS n
    FROM variant_user_days
    WHERE day BETWEEN from_day AND to_day AND (prev_day IS NULL OR prev_day < from_day)
    GROUP BY 1
    HAVING sum(users) > 0
), sums AS (
    SELECT variant, sum(y) AS y, sum(yy) AS yy,
           sum(CASE metric WHEN 'dwell_per_impression' THEN w WHEN 'engagement_per_impression' THEN e ELSE c END) AS x,
           sum(CASE metric WHEN 'dwell_per_impression' THEN ww WHEN 'engagement_per_impression' THEN ee ELSE cc END) AS xx,
           sum(CASE metric WHEN 'dwell_per_impression' THEN wy WHEN 'engagement_per_impression' THEN ey ELSE cy END) AS xy
    FROM variant_day_pairs
    WHERE day BETWEEN from_day AND to_day AND later_day <= to_day
    GROUP BY 1
), without_impressions AS (
    SELECT variant, sum(x) AS x, sum(x * x) AS xx
    FROM (SELECT o.user_id, o.variant,
                 sum(CASE metric WHEN 'dwell_per_impression' THEN o.dwell_capped WHEN 'engagement_per_impression' THEN o.engagements
                                 ELSE o.clicks END)::numeric AS x
          FROM user_variant_daily AS o
          WHERE o.impressions = 0 AND o.variant IS NOT NULL AND (o.clicks <> 0 OR o.engagements <> 0 OR o.dwell_capped <> 0)
            AND o.day BETWEEN from_day AND to_day
          GROUP BY 1, 2
          HAVING NOT EXISTS (SELECT 1 FROM user_variant_daily AS i
                             WHERE i.user_id = o.user_id AND i.day BETWEEN from_day AND to_day
                               AND i.variant = o.variant AND i.impressions > 0)) AS s
    GROUP BY 1
), arms AS (
    SELECT ROW(u.variant, u.n,
               s.x - coalesce(o.x, 0),
               CASE WHEN metric = 'clicks_per_user' THEN u.n ELSE s.y END,
               s.xx - coalesce(o.xx, 0),
               CASE WHEN metric = 'clicks_per_user' THEN u.n ELSE s.yy END,
               CASE WHEN metric = 'clicks_per_user' THEN s.x - coalesce(o.x, 0) ELSE s.xy END,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::hotpot_lib.arm_moments AS moments
    FROM users AS u
    JOIN sums AS s ON s.variant = u.variant
    LEFT JOIN without_impressions AS o ON o.variant = u.variant
)
SELECT (SELECT array_agg(moments) FROM arms),
       (SELECT count(*)
        FROM (SELECT m.user_id
              FROM multi_variant_users AS m
              JOIN user_variant_daily AS r ON r.user_id = m.user_id
              WHERE r.day BETWEEN from_day AND to_day AND r.variant IS NOT NULL AND r.impressions > 0
              GROUP BY 1
              HAVING count(DISTINCT r.variant) > 1) AS several)
$$;

-- Whether the rollups serve a readout: a range of up to hotpot_lib.variant_pair_days() days, a known
-- metric, no CUPED and the rollup's dwell cap. Never NULL.
CREATE FUNCTION hotpot_lib.variant_moments_from_rollups_serve(metric text, from_day date, to_day date, cuped boolean, dwell_cap_ms bigint)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT coalesce(cuped IS NOT TRUE AND from_day <= to_day AND to_day - from_day < hotpot_lib.variant_pair_days()
                AND metric IN ('ctr', 'dwell_per_impression', 'engagement_per_impression', 'clicks_per_user')
                AND (metric <> 'dwell_per_impression'
                     OR coalesce(dwell_cap_ms, hotpot_lib.default_dwell_cap_ms()) = hotpot_lib.default_dwell_cap_ms()), false)
$$;

-- Which of the two answers: each branch is a one-time filter on the arguments, so only one runs.
CREATE OR REPLACE FUNCTION hotpot_lib.variant_moments(metric text, from_day date, to_day date, cuped boolean DEFAULT false,
                                                      pre_days bigint DEFAULT 14, dwell_cap_ms bigint DEFAULT NULL)
RETURNS TABLE (arms hotpot_lib.arm_moments[], users_in_several_variants bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT r.arms, r.users_in_several_variants
FROM hotpot_lib.variant_moments_from_rollups(metric, from_day, to_day) AS r
WHERE hotpot_lib.variant_moments_from_rollups_serve(metric, from_day, to_day, cuped, dwell_cap_ms)
UNION ALL
SELECT s.arms, s.users_in_several_variants
FROM hotpot_lib.variant_moments_scan(metric, from_day, to_day, cuped, pre_days, dwell_cap_ms) AS s
WHERE NOT hotpot_lib.variant_moments_from_rollups_serve(metric, from_day, to_day, cuped, dwell_cap_ms)
$$;

GRANT EXECUTE ON FUNCTION hotpot_lib.variant_pair_days() TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.variant_moments_from_rollups_serve(text, date, date, boolean, bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.variant_moments_scan(text, date, date, boolean, bigint, bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.variant_moments_from_rollups(text, date, date) TO PUBLIC;
