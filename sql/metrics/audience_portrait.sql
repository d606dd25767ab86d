/* ---
name: audience_portrait
title: Audience portrait
description: >-
  Users active (at least one event) in the tenant-local days `from`..`to`, broken down by gender,
  by age_band and by city (column `breakdown` says which; the columns not broken down are NULL),
  and with `cross` also by gender x age_band x city. 'unknown' stands for a missing attribute or
  a user missing from the users table. Privacy: within each breakdown, cells with fewer than
  `min_cell` users (at least 10) are merged into one row whose broken-down columns are 'other',
  and that row is dropped if it still has fewer than `min_cell` users. share = users / the users
  reported in the same breakdown (so the shares of a breakdown sum to 1). Ordered by breakdown
  (gender, age_band, city, cross), then most users first, 'other' last.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  cross: {type: bool, default: false}
  min_cell: {type: int, default: 10, min: 10}
--- */
WITH marginals AS (
    -- Each user counts once per attribute, on their first active day in the range (see audience_days).
    SELECT attribute, value, sum(users) AS users
    FROM audience_days
    WHERE day BETWEEN :from AND :to AND (prev_day IS NULL OR prev_day < :from)
    GROUP BY 1, 2
), attrs AS (
    SELECT coalesce(u.gender, 'unknown') AS gender, coalesce(u.age_band, 'unknown') AS age_band,
           coalesce(u.city, 'unknown') AS city
    FROM (SELECT DISTINCT user_id FROM user_variant_daily WHERE day BETWEEN :from AND :to) AS a
    LEFT JOIN users AS u ON u.user_id = a.user_id
), cells AS (
    SELECT 1 AS set_no, value AS gender, NULL::text AS age_band, NULL::text AS city, users FROM marginals WHERE attribute = 'gender'
    UNION ALL
    SELECT 2, NULL, value, NULL, users FROM marginals WHERE attribute = 'age_band'
    UNION ALL
    SELECT 3, NULL, NULL, value, users FROM marginals WHERE attribute = 'city'
    UNION ALL
    -- The cross breakdown has no rollup: it counts distinct users (slower, only when asked for).
    SELECT 4, gender, age_band, city, count(*) FROM attrs WHERE :cross GROUP BY gender, age_band, city
), merged AS (
    SELECT set_no, users < :min_cell AS is_other,
           CASE WHEN users >= :min_cell OR gender IS NULL THEN gender ELSE 'other' END AS gender,
           CASE WHEN users >= :min_cell OR age_band IS NULL THEN age_band ELSE 'other' END AS age_band,
           CASE WHEN users >= :min_cell OR city IS NULL THEN city ELSE 'other' END AS city,
           users
    FROM cells
), reported AS (
    SELECT set_no, is_other, gender, age_band, city, sum(users)::int8 AS users
    FROM merged
    GROUP BY set_no, is_other, gender, age_band, city
    HAVING sum(users) >= :min_cell
)
SELECT (ARRAY['gender', 'age_band', 'city', 'cross'])[set_no] AS breakdown, gender, age_band, city, users,
       users::float8 / sum(users) OVER (PARTITION BY set_no)::float8 AS share
FROM reported
ORDER BY set_no, is_other, users DESC, gender, age_band, city
