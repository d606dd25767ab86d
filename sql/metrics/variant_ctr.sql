/* ---
name: variant_ctr
title: A/B test CTR by variant (users as the unit)
description: >-
  Experiment readout of click-through rate with the user as the unit, as experiments randomize users:
  one row per variant (events without a variant are ignored) over the tenant-local days `from`..`to`.
  A variant's users are those with at least one impression in it in the window; per variant: users,
  impressions, clicks, ctr = clicks / impressions. For every other variant against the control: lift =
  ctr / control ctr - 1; lift_ci_low / lift_ci_high = its 95% interval and p_value (two-sided) by the
  delta method on the users' sums of clicks and impressions (Deng et al., KDD 2018), so one user's
  correlated impressions are not taken for independent trials; p_value_adjusted = Holm's adjustment
  over the treatments (= p_value with one treatment); mde = the relative lift detectable at 80% power
  with the users so far. srm_p_value = chi-square test of the users per arm against `split` (shares
  per arm, control first, then by name; default equal). With `cuped`, each user's clicks and
  impressions over the `pre_days` days before `from` reduce the variance (CUPED; users without them
  count with zero) and variance_reduction says by how much. warnings explains, in words, a sample ratio
  mismatch (p < 0.001), users seen in more than one variant, arms under 100 users, and how many more
  users a non-significant lift needs. The control is the variant named `control`, else the first by
  name; it comes first, then the others by name. Computed by hotpot_lib.ratio_experiment, which
  analysts may call for their own metrics (docs/experiments.md).
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  control: {type: text, default: control}
  split: {type: "int[]", optional: true}
  cuped: {type: bool, default: false}
  pre_days: {type: int, default: 14, min: 1, max: 90}
--- */
SELECT r.variant, r.is_control, r.users, r.denominator::int8 AS impressions, r.numerator::int8 AS clicks, r.ratio AS ctr,
       r.lift, r.lift_ci_low, r.lift_ci_high, r.p_value, r.p_value_adjusted, r.srm_p_value, r.mde,
       r.variance_reduction, r.warnings
FROM hotpot_lib.variant_moments('ctr', :from, :to, :cuped, :pre_days) AS m
CROSS JOIN LATERAL hotpot_lib.ratio_experiment(m.arms, :control, :split, m.users_in_several_variants) AS r
