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
  other rows. Reads raw events (no rollup keeps note categories per user), so keep the window
  short.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  new_user_days: {type: int, default: 7, min: 1, max: 90}
--- */
WITH new_users AS (
    SELECT user_id, signup_at::date AS signup_day, interests
    FROM users
    WHERE signup_at IS NOT NULL
      AND signup_at::date BETWEEN :from - (:new_user_days::int - 1) AND :to
), ev AS (
    SELECT e.user_id, e.event_type,
           CASE WHEN n.category IS NULL OR coalesce(cardinality(u.interests), 0) = 0 THEN 'unknown'
                WHEN n.category = ANY(u.interests) THEN 'matched'
                ELSE 'unmatched' END AS segment
    FROM events AS e
    JOIN new_users AS u ON u.user_id = e.user_id
    LEFT JOIN notes AS n ON n.note_id = e.note_id
    WHERE e.occurred_at >= :from::timestamptz
      AND e.occurred_at < (:to + 1)::timestamptz
      AND e.event_type IN ('impression', 'click')
      AND e.occurred_at::date - u.signup_day BETWEEN 0 AND :new_user_days - 1
), seg AS (
    SELECT s.segment, s.ord,
           count(DISTINCT ev.user_id) FILTER (WHERE ev.event_type = 'impression')::int8 AS users,
           count(ev.user_id) FILTER (WHERE ev.event_type = 'impression')::int8 AS impressions,
           count(ev.user_id) FILTER (WHERE ev.event_type = 'click')::int8 AS clicks
    FROM (VALUES ('matched', 1), ('unmatched', 2), ('unknown', 3)) AS s(segment, ord)
    LEFT JOIN ev ON ev.segment = s.segment
    GROUP BY s.segment, s.ord
), rated AS (
    SELECT seg.*, clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr FROM seg
)
SELECT r.segment, r.users, r.impressions, r.clicks, r.ctr,
       CASE WHEN r.segment = 'matched' THEN r.ctr / NULLIF(u.ctr, 0) - 1 END AS ctr_lift,
       CASE WHEN r.segment = 'matched' THEN hotpot_lib.two_proportion_p(u.clicks, u.impressions, r.clicks, r.impressions) END AS p_value
FROM rated AS r
CROSS JOIN (SELECT * FROM rated WHERE segment = 'unmatched') AS u
ORDER BY r.ord
