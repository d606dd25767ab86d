WITH first AS (
    SELECT user_id, min(occurred_at)::date AS first_day FROM events GROUP BY user_id
), cohorts AS (
    SELECT user_id, first_day - (extract(isodow FROM first_day)::int - 1) AS cohort_week
    FROM first
    WHERE first_day - (extract(isodow FROM first_day)::int - 1) >= :from - (extract(isodow FROM :from)::int - 1)
      AND first_day - (extract(isodow FROM first_day)::int - 1) <= :to
), active AS (
    SELECT DISTINCT c.cohort_week, c.user_id,
           (e.occurred_at::date - (extract(isodow FROM e.occurred_at::date)::int - 1) - c.cohort_week) / 7 AS week_offset
    FROM cohorts AS c JOIN events AS e ON e.user_id = c.user_id
)
SELECT k.cohort_week, (SELECT count(*) FROM cohorts AS x WHERE x.cohort_week = k.cohort_week)::int8 AS cohort_users,
       w AS week_offset,
       (SELECT count(*) FROM active AS a WHERE a.cohort_week = k.cohort_week AND a.week_offset = w)::int8 AS active_users,
       (SELECT count(*) FROM active AS a WHERE a.cohort_week = k.cohort_week AND a.week_offset = w)::float8
           / (SELECT count(*) FROM cohorts AS x WHERE x.cohort_week = k.cohort_week)::float8 AS retention
FROM (SELECT DISTINCT cohort_week FROM cohorts) AS k, generate_series(0, :max_weeks::int) AS w
WHERE k.cohort_week + 7 * w <= :to
ORDER BY k.cohort_week, w
