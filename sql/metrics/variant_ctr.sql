/* ---
name: variant_ctr
title: A/B test CTR by variant
description: >-
  Per experiment variant (events without a variant are ignored) over the tenant-local days
  `from`..`to`: users = distinct users with at least one impression in the variant; impressions;
  clicks; ctr = clicks / impressions. The control is the variant named `control` if it has events
  in the window, otherwise the alphabetically first variant. For every other variant, against the
  control: ctr_diff = ctr - control ctr (absolute, in CTR units); ctr_diff_ci_low / ctr_diff_ci_high
  = 95% Wald confidence interval of ctr_diff (unpooled, diff +/- 1.96 * sqrt(p1(1-p1)/n1 +
  p2(1-p2)/n2)); lift = ctr / control ctr - 1 (relative); p_value = two-sided two-proportion
  z-test (pooled variance). These are NULL on the control row and when a CTR is undefined.
  Impressions are the unit of analysis (repeat impressions by one user are treated as
  independent, which understates the variance when users see many impressions). Control first,
  then variants alphabetically.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  control: {type: text, default: control}
--- */
WITH v AS (
    SELECT variant, sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to AND variant IS NOT NULL
    GROUP BY variant
), u AS (
    -- Each user counts once, on their first day in the range (see variant_user_days).
    SELECT variant, sum(users)::int8 AS users
    FROM variant_user_days
    WHERE day BETWEEN :from AND :to AND (prev_day IS NULL OR prev_day < :from)
    GROUP BY variant
), ctl AS (
    SELECT coalesce((SELECT variant FROM v WHERE variant = :control), (SELECT min(variant) FROM v)) AS variant
), stats AS (
    SELECT v.variant, v.variant = ctl.variant AS is_control, coalesce(u.users, 0)::int8 AS users,
           v.impressions, v.clicks, v.clicks::float8 / NULLIF(v.impressions, 0)::float8 AS ctr
    FROM v
    CROSS JOIN ctl
    LEFT JOIN u ON u.variant = v.variant
)
SELECT s.variant, s.is_control, s.users, s.impressions, s.clicks, s.ctr,
       d.ctr_diff,
       d.ctr_diff - 1.96 * d.se AS ctr_diff_ci_low,
       d.ctr_diff + 1.96 * d.se AS ctr_diff_ci_high,
       CASE WHEN NOT s.is_control THEN s.ctr / NULLIF(c.ctr, 0) - 1 END AS lift,
       CASE WHEN NOT s.is_control THEN hotpot_lib.two_proportion_p(c.clicks, c.impressions, s.clicks, s.impressions) END AS p_value
FROM stats AS s
JOIN stats AS c ON c.is_control
CROSS JOIN LATERAL (
    SELECT CASE WHEN NOT s.is_control THEN s.ctr - c.ctr END AS ctr_diff,
           CASE WHEN NOT s.is_control THEN
               sqrt(greatest(s.ctr * (1 - s.ctr), 0) / NULLIF(s.impressions, 0) + greatest(c.ctr * (1 - c.ctr), 0) / NULLIF(c.impressions, 0))
           END AS se
) AS d
ORDER BY s.is_control DESC, s.variant
