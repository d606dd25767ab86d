/* ---
name: experiment_readout
title: Experiment readout of a per-user ratio metric
description: >-
  The readout of variant_ctr (users as the unit, delta-method interval and p, Holm, SRM, MDE, CUPED,
  warnings; see there) for one of the per-user ratio metrics: `metric` = ctr (clicks / impressions),
  dwell_per_impression (dwell in ms, each event's capped at `dwell_cap_ms`, default 300000 = 5 minutes,
  / impressions), engagement_per_impression ((likes + collects + comments + shares + follows) /
  impressions) or clicks_per_user (clicks per user with an impression in the variant). numerator and
  denominator are the arm's totals, value their ratio. A variant's users are those with at least one
  impression in it in the tenant-local days `from`..`to`.
params:
  metric: {type: text, default: ctr, allowed: [ctr, dwell_per_impression, engagement_per_impression, clicks_per_user]}
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  control: {type: text, default: control}
  split: {type: "int[]", optional: true}
  cuped: {type: bool, default: false}
  pre_days: {type: int, default: 14, min: 1, max: 90}
  dwell_cap_ms: {type: int, optional: true, min: 1, max: 86400000}
--- */
SELECT r.variant, r.is_control, r.users, r.numerator, r.denominator, r.ratio AS value,
       r.lift, r.lift_ci_low, r.lift_ci_high, r.p_value, r.p_value_adjusted, r.srm_p_value, r.mde,
       r.variance_reduction, r.warnings
FROM hotpot_lib.variant_moments(:metric, :from, :to, :cuped, :pre_days, :dwell_cap_ms) AS m
CROSS JOIN LATERAL hotpot_lib.ratio_experiment(m.arms, :control, :split, m.users_in_several_variants) AS r
