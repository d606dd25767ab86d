/* ---
name: cohort_retention
title: Weekly cohort retention
description: >-
  Users are grouped into weekly cohorts by the tenant-local week (Monday start) of the first day
  they appear in any event. Cohorts are the weeks from the week containing `from` through the week
  containing `to`. For each cohort and week_offset 0..`max_weeks` (only offsets whose week starts on
  or before `to`): cohort_users = users in the cohort, active_users = those with at least one event
  during the week `week_offset` weeks after the cohort week, and retention = active_users /
  cohort_users (week 0 is 1 by definition). Activity is any event type. Weeks are counted whole: the
  week containing `to` includes its days after `to`, which is the same thing when `to` is today.
params:
  from: {type: date, default: -8w}
  to: {type: date, default: today}
  max_weeks: {type: int, default: 8, min: 0, max: 52}
--- */
WITH sizes AS (
    SELECT date_trunc('week', day::timestamp)::date AS cohort_week, sum(new_users)::int8 AS cohort_users
    FROM daily_users
    WHERE day >= date_trunc('week', :from::timestamp)::date AND day < date_trunc('week', :to::timestamp)::date + 7
    GROUP BY 1
    HAVING sum(new_users) > 0
)
SELECT s.cohort_week, s.cohort_users, w.week_offset,
       coalesce(c.users, 0)::int8 AS active_users,
       coalesce(c.users, 0)::float8 / s.cohort_users::float8 AS retention
FROM sizes AS s
CROSS JOIN generate_series(0, :max_weeks::int) AS w(week_offset)
LEFT JOIN cohort_weeks AS c ON c.cohort_week = s.cohort_week AND c.week = s.cohort_week + 7 * w.week_offset
WHERE s.cohort_week + 7 * w.week_offset <= :to
ORDER BY s.cohort_week, w.week_offset
