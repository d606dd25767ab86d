/* ---
name: cohort_retention
title: Weekly cohort retention
description: >-
  Users are grouped into weekly cohorts by the tenant-local week (Monday start) of the first day
  they appear in any event. Cohorts are the weeks starting from the week containing `from` through
  `to`. For each cohort and week_offset 0..`max_weeks` (only offsets whose week starts on or before
  `to`): cohort_users = users in the cohort, active_users = those with at least one event during
  the week `week_offset` weeks after the cohort week (events up to and including `to` only), and
  retention = active_users / cohort_users (week 0 is 1 by definition). Activity is any event type.
params:
  from: {type: date, default: -8w}
  to: {type: date, default: today}
  max_weeks: {type: int, default: 8, min: 0, max: 52}
--- */
WITH cohorts AS (
    SELECT user_id, date_trunc('week', first_day::timestamp)::date AS cohort_week
    FROM user_first_seen
    WHERE first_day >= date_trunc('week', :from::timestamp)::date AND first_day <= :to
), sizes AS (
    SELECT cohort_week, count(*)::int8 AS cohort_users FROM cohorts GROUP BY cohort_week
), activity AS (
    SELECT c.cohort_week, (date_trunc('week', d.day::timestamp)::date - c.cohort_week) / 7 AS week_offset,
           count(DISTINCT d.user_id)::int8 AS active_users
    FROM cohorts AS c
    JOIN user_daily AS d ON d.user_id = c.user_id AND d.day >= c.cohort_week AND d.day <= :to
    GROUP BY 1, 2
)
SELECT s.cohort_week, s.cohort_users, w.week_offset,
       coalesce(a.active_users, 0)::int8 AS active_users,
       coalesce(a.active_users, 0)::float8 / s.cohort_users::float8 AS retention
FROM sizes AS s
CROSS JOIN generate_series(0, :max_weeks::int) AS w(week_offset)
LEFT JOIN activity AS a ON a.cohort_week = s.cohort_week AND a.week_offset = w.week_offset
WHERE s.cohort_week + 7 * w.week_offset <= :to
ORDER BY s.cohort_week, w.week_offset
