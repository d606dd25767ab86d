-- Experiment readouts with the user as the unit (docs/experiments.md). A ratio metric per user
-- (numerator X, denominator Y: clicks and impressions for CTR) is summarised per arm by the moments
-- below; hotpot_lib.ratio_experiment turns them into lift, interval and p by the delta method (Deng et
-- al., "Applying the Delta Method in Metric Analytics", KDD 2018; GrowthBook's gbstats computes the
-- same), with CUPED when pre-period moments are given, a sample-ratio-mismatch test and Holm's
-- adjustment. Analysts call it for their own experiments: per user, sum X and Y (and the pre-period
-- U and V); per arm, these sums of the users' values, their squares and products.

-- The dwell cap of experiment readouts when none is given: a 5-minute dwell counts as 5 minutes, an
-- idle tab left open for hours does not dominate the mean. The variants rollup sums dwell under it.
CREATE FUNCTION hotpot_lib.default_dwell_cap_ms() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 300000 $$;

-- Upper tail of the chi-square distribution with `df` degrees of freedom at x (Abramowitz & Stegun
-- 26.4.4 and 26.4.5, exact for integer df).
CREATE FUNCTION hotpot_lib.chi_square_p(x double precision, df integer) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    total double precision;
    term double precision;
    k integer;
BEGIN
    IF df < 1 THEN RETURN NULL; END IF;
    IF x <= 0 THEN RETURN 1; END IF;
    -- exp(-x/2) underflows beyond here; the tail is far below any threshold anyone uses.
    IF x > 1400 THEN RETURN 0; END IF;
    IF df % 2 = 0 THEN
        term := exp(-x / 2);
        total := term;
        FOR k IN 1 .. df / 2 - 1 LOOP
            term := term * (x / 2) / k;
            total := total + term;
        END LOOP;
    ELSE
        total := 2 * hotpot_lib.normal_cdf(-sqrt(x));
        term := exp(-x / 2) / sqrt(2 * pi()) * sqrt(x);  -- phi(sqrt x) * x^(1/2) / 1
        FOR k IN 1 .. (df - 1) / 2 LOOP
            IF k > 1 THEN term := term * x / (2 * k - 1); END IF;
            total := total + 2 * term;
        END LOOP;
    END IF;
    RETURN least(greatest(total, 0), 1);
END
$$;

-- One arm's users summarised: X, Y the user's in-experiment numerator and denominator, U, V the same
-- metric over the pre-period (NULL sums: no CUPED). users counts every user of the arm, also those
-- without pre-period data (U = V = 0).
CREATE TYPE hotpot_lib.arm_moments AS (
    variant text,
    users   bigint,
    sx  double precision, sy  double precision,
    sxx double precision, syy double precision, sxy double precision,
    su  double precision, sv  double precision,
    suu double precision, svv double precision, suv double precision,
    sxu double precision, sxv double precision, syu double precision, syv double precision
);

-- The readout: one row per arm, the control first (the arm named `control`, else the first by name),
-- then the treatments by name. `split`: expected shares of users per arm in that order (default equal).
-- `users_in_several_variants`: users seen in more than one arm, for the warning.
CREATE FUNCTION hotpot_lib.ratio_experiment(arms hotpot_lib.arm_moments[], control text DEFAULT 'control',
                                            split bigint[] DEFAULT NULL, users_in_several_variants bigint DEFAULT 0)
RETURNS TABLE (variant text, is_control boolean, users bigint, numerator double precision, denominator double precision,
               ratio double precision, lift double precision, lift_ci_low double precision, lift_ci_high double precision,
               p_value double precision, p_value_adjusted double precision, srm_p_value double precision,
               mde double precision, variance_reduction double precision, warnings text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
WITH a AS (
    SELECT m.*, coalesce(m.variant = control, false) AS named_control
    FROM unnest(arms) AS m
    WHERE m.users > 0
), ordered AS (
    SELECT a.*,
           row_number() OVER (ORDER BY a.named_control DESC, a.variant) AS position
    FROM a
), pooled AS (
    -- CUPED's covariate g = (U - rp * V) / mv, with the pre-period ratio rp and mean V over every user.
    SELECT sum(su) / NULLIF(sum(sv), 0) AS rp, sum(sv) / NULLIF(sum(users), 0) AS mv, sum(users) AS n_all, count(*) AS arms
    FROM ordered
), moments AS (
    SELECT o.variant, o.position, o.position = 1 AS is_control, o.users, o.sx, o.sy,
           o.sx / NULLIF(o.sy, 0) AS r, o.sy / o.users AS my, o.sx / o.users AS mx,
           (o.sxx - o.sx * o.sx / o.users) / NULLIF(o.users - 1, 0) AS vx,
           (o.syy - o.sy * o.sy / o.users) / NULLIF(o.users - 1, 0) AS vy,
           (o.sxy - o.sx * o.sy / o.users) / NULLIF(o.users - 1, 0) AS cxy,
           (o.suu - o.su * o.su / o.users) / NULLIF(o.users - 1, 0) AS vu,
           (o.svv - o.sv * o.sv / o.users) / NULLIF(o.users - 1, 0) AS vv,
           (o.suv - o.su * o.sv / o.users) / NULLIF(o.users - 1, 0) AS cuv,
           (o.sxu - o.sx * o.su / o.users) / NULLIF(o.users - 1, 0) AS cxu,
           (o.sxv - o.sx * o.sv / o.users) / NULLIF(o.users - 1, 0) AS cxv,
           (o.syu - o.sy * o.su / o.users) / NULLIF(o.users - 1, 0) AS cyu,
           (o.syv - o.sy * o.sv / o.users) / NULLIF(o.users - 1, 0) AS cyv,
           o.su, o.sv
    FROM ordered AS o
), linear AS (
    -- Per arm, the variance of f = (X - r Y) / my (so var(r) = var(f) / n), of g, their covariance and mean g.
    SELECT m.*,
           (m.vx - 2 * m.r * m.cxy + m.r * m.r * m.vy) / NULLIF(m.my * m.my, 0) AS vf,
           (m.vu - 2 * p.rp * m.cuv + p.rp * p.rp * m.vv) / NULLIF(p.mv * p.mv, 0) AS vg,
           (m.cxu - p.rp * m.cxv - m.r * m.cyu + m.r * p.rp * m.cyv) / NULLIF(m.my * p.mv, 0) AS cfg,
           (m.su - p.rp * m.sv) / m.users / NULLIF(p.mv, 0) AS mg
    FROM moments AS m CROSS JOIN pooled AS p
), theta AS (
    -- One theta for all arms: within-arm covariance over within-arm variance, pooled.
    SELECT sum((users - 1) * cfg) / NULLIF(sum((users - 1) * vg), 0) AS theta FROM linear
), arm AS (
    SELECT l.*, t.theta,
           l.vf / l.users AS var_r,
           l.r - coalesce(t.theta * l.mg, 0) AS r_adj,
           CASE WHEN t.theta IS NULL THEN l.vf
                ELSE l.vf - 2 * t.theta * l.cfg + t.theta * t.theta * l.vg END / l.users AS var_r_adj
    FROM linear AS l CROSS JOIN theta AS t
), compared AS (
    SELECT s.*, c.r AS control_r, c.r_adj AS control_r_adj,
           CASE WHEN NOT s.is_control THEN s.r_adj / NULLIF(c.r_adj, 0) - 1 END AS lift,
           CASE WHEN NOT s.is_control THEN
               s.var_r_adj / NULLIF(c.r_adj * c.r_adj, 0) + s.r_adj * s.r_adj * c.var_r_adj / NULLIF(c.r_adj ^ 4, 0)
           END AS var_lift,
           CASE WHEN NOT s.is_control THEN
               s.var_r / NULLIF(c.r * c.r, 0) + s.r * s.r * c.var_r / NULLIF(c.r ^ 4, 0)
           END AS var_lift_unadjusted
    FROM arm AS s CROSS JOIN (SELECT * FROM arm WHERE is_control) AS c
), tested AS (
    SELECT x.*, sqrt(x.var_lift) AS se,
           CASE WHEN x.var_lift > 0 THEN 2 * hotpot_lib.normal_cdf(-abs(x.lift) / sqrt(x.var_lift)) END AS p
    FROM compared AS x
), ranked AS (
    SELECT t.variant, t.p, row_number() OVER (ORDER BY t.p, t.position) AS i, count(*) OVER () AS m
    FROM tested AS t
    WHERE NOT t.is_control AND t.p IS NOT NULL
), holm AS (
    -- Holm: the i-th smallest of m p-values times (m - i + 1), made monotone, at most 1.
    SELECT r.variant, r.m AS treatments, least(1, max(r.p * (r.m - r.i + 1)) OVER (ORDER BY r.i)) AS p_holm
    FROM ranked AS r
), shares AS (
    -- The expected split, when it names a positive share for every arm; else equal shares.
    SELECT CASE WHEN cardinality(split) = p.arms AND (SELECT bool_and(w > 0) FROM unnest(split) AS w)
                THEN (SELECT sum(w)::float8 FROM unnest(split) AS w) END AS total,
           split IS NOT NULL AND (cardinality(split) <> p.arms OR NOT (SELECT bool_and(w > 0) FROM unnest(split) AS w)) AS ignored
    FROM pooled AS p
), srm AS (
    SELECT CASE WHEN p.arms > 1 THEN hotpot_lib.chi_square_p(sum((o.users - e.expected) ^ 2 / e.expected), (p.arms - 1)::int) END AS p,
           bool_or(s.ignored) AS split_ignored
    FROM ordered AS o
    CROSS JOIN pooled AS p
    CROSS JOIN shares AS s
    CROSS JOIN LATERAL (SELECT p.n_all * coalesce(split[o.position] / s.total, 1.0 / p.arms) AS expected) AS e
    GROUP BY p.arms
)
SELECT t.variant, t.is_control, t.users, t.sx, t.sy, t.r,
       t.lift, t.lift - 1.959963984540054 * t.se, t.lift + 1.959963984540054 * t.se,
       t.p, CASE WHEN h.treatments > 1 THEN h.p_holm ELSE t.p END,
       srm.p,
       CASE WHEN NOT t.is_control THEN (1.959963984540054 + 0.8416212335729143) * t.se END,
       CASE WHEN NOT t.is_control AND t.theta IS NOT NULL THEN 1 - t.var_lift / NULLIF(t.var_lift_unadjusted, 0) END,
       nullif(concat_ws('; ',
           CASE WHEN srm.p < 0.001 THEN format('sample ratio mismatch (p = %s): users are not split between the arms as expected, so the assignment is suspect and the lift cannot be trusted', trim(to_char(srm.p, '9.9EEEE'))) END,
           CASE WHEN t.is_control AND srm.split_ignored THEN 'split must give one positive share per arm (control first, then the others by name); equal shares were assumed' END,
           CASE WHEN users_in_several_variants > 0 THEN format('%s users were seen in more than one variant; they count in each', users_in_several_variants) END,
           CASE WHEN t.users < 100 THEN format('only %s users in this arm: too few for a reliable readout', t.users) END,
           CASE WHEN NOT t.is_control AND t.p >= 0.05 AND t.lift <> 0 THEN
               format('not significant yet: about %s more users per arm needed to detect a lift of %s%%',
                      ceil(least(greatest(t.users * ((1.959963984540054 + 0.8416212335729143) * t.se / abs(t.lift)) ^ 2 - t.users, 0), 1e15))::int8,
                      round((t.lift * 100)::numeric, 1)) END), '')
FROM tested AS t
LEFT JOIN holm AS h ON h.variant IS NOT DISTINCT FROM t.variant
CROSS JOIN srm
ORDER BY t.position
$$;

-- The arms' moments of one of the built-in per-user ratio metrics, for ratio_experiment: the users with
-- at least one impression in a variant over the tenant-local days from_day..to_day, each with their sums
-- in that variant (a user seen in several variants counts in each, and is counted in the second column).
--   ctr                        clicks / impressions
--   dwell_per_impression       dwell (each event's capped at dwell_cap_ms) / impressions
--   engagement_per_impression  (likes + collects + comments + shares + follows) / impressions
--   clicks_per_user            clicks / 1
-- With cuped, the same sums over the pre_days days before from_day, across all variants, are the
-- covariate (0 for users without any). Reads the caller's user_variant_daily (raw events for a
-- dwell cap other than hotpot_lib.default_dwell_cap_ms()): names resolve on the caller's search_path,
-- with the caller's rights, as for note_window.
SET LOCAL check_function_bodies = off;

CREATE FUNCTION hotpot_lib.variant_moments(metric text, from_day date, to_day date, cuped boolean DEFAULT false,
                                           pre_days bigint DEFAULT 14, dwell_cap_ms bigint DEFAULT NULL)
RETURNS TABLE (arms hotpot_lib.arm_moments[], users_in_several_variants bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH settings AS (
    SELECT CASE WHEN cuped THEN from_day - least(greatest(pre_days, 1), 3650)::int ELSE from_day END AS first_day,
           metric = 'dwell_per_impression' AND coalesce(dwell_cap_ms, hotpot_lib.default_dwell_cap_ms()) <> hotpot_lib.default_dwell_cap_ms() AS from_events
), days AS (
    SELECT r.user_id, r.variant, r.day, r.impressions, r.clicks, r.engagements, r.dwell_capped AS dwell
    FROM user_variant_daily AS r, settings AS s
    WHERE NOT s.from_events AND r.day BETWEEN s.first_day AND to_day
    UNION ALL
    SELECT e.user_id, e.variant, e.occurred_at::date, count(*) FILTER (WHERE e.event_type = 'impression'),
           count(*) FILTER (WHERE e.event_type = 'click'), 0, coalesce(sum(least(e.dwell_ms, dwell_cap_ms)) FILTER (WHERE e.dwell_ms IS NOT NULL), 0)
    FROM events AS e, settings AS s
    WHERE s.from_events AND e.occurred_at >= s.first_day::timestamptz AND e.occurred_at < (to_day + 1)::timestamptz
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

GRANT EXECUTE ON FUNCTION hotpot_lib.variant_moments(text, date, date, boolean, bigint, bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.default_dwell_cap_ms() TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.chi_square_p(double precision, integer) TO PUBLIC;
GRANT EXECUTE ON FUNCTION hotpot_lib.ratio_experiment(hotpot_lib.arm_moments[], text, bigint[], bigint) TO PUBLIC;
