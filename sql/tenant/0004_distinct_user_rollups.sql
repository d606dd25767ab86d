-- Exact distinct-user counts over any date range, read from a few thousand rows instead of counting
-- distinct users in per-user rollups. Kept by sql/rollups/apply.sql inside each import; filled here from
-- the existing rollups for tenants that predate them.

-- Users with impressions in a variant, by day and by the previous day the same user had impressions in
-- the same variant (NULL: none before). A user seen in [from, to] is counted exactly once by the rows
-- with day in [from, to] and prev_day before from (or NULL): the row of their first day in the range.
-- So distinct users over a range = sum(users) over those rows, at most days² / 2 rows per variant.
CREATE TABLE variant_user_days (
    variant  text   NOT NULL,
    day      date   NOT NULL,
    prev_day date,
    users    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX variant_user_days_key ON variant_user_days (variant, day, prev_day) NULLS NOT DISTINCT;

-- Weeks (Monday start, tenant-local) in which each user had any event.
CREATE TABLE user_weeks (
    user_id text NOT NULL,
    week    date NOT NULL,
    PRIMARY KEY (user_id, week)
);

-- Weekly first-seen cohorts: users whose first week is cohort_week and who were active in week.
CREATE TABLE cohort_weeks (
    cohort_week date   NOT NULL,
    week        date   NOT NULL,
    users       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (cohort_week, week)
);

INSERT INTO variant_user_days (variant, day, prev_day, users)
SELECT variant, day, prev_day, count(*)
FROM (SELECT variant, day, lag(day) OVER (PARTITION BY user_id, variant ORDER BY day) AS prev_day
      FROM user_variant_daily
      WHERE variant IS NOT NULL AND impressions > 0) AS s
GROUP BY 1, 2, 3;

INSERT INTO user_weeks (user_id, week)
SELECT DISTINCT user_id, date_trunc('week', day::timestamp)::date FROM user_daily;

INSERT INTO cohort_weeks (cohort_week, week, users)
SELECT date_trunc('week', f.first_day::timestamp)::date, w.week, count(*)
FROM user_weeks AS w
JOIN user_first_seen AS f ON f.user_id = w.user_id
GROUP BY 1, 2;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE variant_user_days, user_weeks, cohort_weeks;
