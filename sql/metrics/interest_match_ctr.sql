/* ---
name: interest_match_ctr
title: New-user CTR on notes matching their interests
description: >-
  For impressions and clicks in the tenant-local days `from`..`to` by new users - users whose
  event falls on their sign-up day or within the `new_user_days` - 1 days after it (tenant-local
  days; users without signup_at are excluded) - split by whether the note's category is one of
  the interests the user chose at sign-up: segment 'matched' (category in users.interests),
  'unmatched' (it is not), 'unknown' (note missing or without category, or user without
  interests). users = distinct new users with at least one impression in the segment; ctr =
  clicks / impressions (NULL without impressions). On the 'matched' row, ctr_lift = ctr /
  unmatched ctr - 1 and p_value = two-sided two-proportion z-test of the two CTRs (pooled); NULL on
  other rows. Segments follow the users and notes as they are now (hotpot_lib.interest_segment); read
  from the new-user rollups (sql/tenant/0011_new_user_segments.sql).
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  new_user_days: {type: int, default: 7, min: 1, max: 90}
--- */
WITH totals AS (
    SELECT segment, sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks
    FROM new_user_segment_totals
    WHERE day BETWEEN :from AND :to
      AND signup_day BETWEEN :from - (:new_user_days::int - 1) AND :to
      AND day - signup_day < :new_user_days
    GROUP BY segment
), reached AS (
    -- Distinct users: a user of sign-up day s counts over [max(from, s), min(to, s + new_user_days - 1)],
    -- once, on the row of their first day there (see new_user_segment_users).
    SELECT segment, sum(users)::int8 AS users
    FROM new_user_segment_users
    WHERE signup_day BETWEEN :from - (:new_user_days::int - 1) AND :to
      AND day BETWEEN greatest(:from, signup_day) AND least(:to, signup_day + (:new_user_days::int - 1))
      AND (prev_day IS NULL OR prev_day < greatest(:from, signup_day))
    GROUP BY segment
), rated AS (
    SELECT s.segment, s.ord, coalesce(r.users, 0) AS users, coalesce(t.impressions, 0) AS impressions,
           coalesce(t.clicks, 0) AS clicks, t.clicks::float8 / NULLIF(t.impressions, 0)::float8 AS ctr
    FROM (VALUES ('matched', 1), ('unmatched', 2), ('unknown', 3)) AS s(segment, ord)
    LEFT JOIN totals AS t ON t.segment = s.segment
    LEFT JOIN reached AS r ON r.segment = s.segment
)
SELECT r.segment, r.users, r.impressions, r.clicks, r.ctr,
       CASE WHEN r.segment = 'matched' THEN r.ctr / NULLIF(u.ctr, 0) - 1 END AS ctr_lift,
       CASE WHEN r.segment = 'matched' THEN hotpot_lib.two_proportion_p(u.clicks, u.impressions, r.clicks, r.impressions) END AS p_value
FROM rated AS r
CROSS JOIN (SELECT * FROM rated WHERE segment = 'unmatched') AS u
ORDER BY r.ord
