/* ---
name: brand_pulse
title: Brand pulse (window vs previous period)
description: >-
  One row comparing the tenant-local days `from`..`to` with the previous period of equal length
  (the N days ending the day before `from`, N = to - from + 1); prev_* columns describe that
  period. impressions, clicks; ctr = clicks / impressions; interactions = likes + collects +
  comments + shares; engagement_rate = interactions / impressions; ces (content engagement score)
  = w_like*likes + w_collect*collects + w_comment*comments + w_share*shares + w_follow*follows.
  Each *_change column is the relative change (current - previous) / previous (0.1 = +10%), NULL
  when the previous value is 0 or NULL. Rates are NULL when their denominator is 0.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  w_like: {type: float, default: 1.0}
  w_collect: {type: float, default: 1.0}
  w_comment: {type: float, default: 4.0}
  w_share: {type: float, default: 4.0}
  w_follow: {type: float, default: 8.0}
--- */
WITH bounds AS (
    SELECT :from AS cur_start, :to AS cur_end,
           :from - (:to - :from + 1) AS prev_start, :from - 1 AS prev_end
), periods AS (
    SELECT (t.day >= b.cur_start) AS is_current,
           sum(t.impressions) AS impressions, sum(t.clicks) AS clicks,
           sum(t.likes) AS likes, sum(t.collects) AS collects, sum(t.comments) AS comments,
           sum(t.shares) AS shares, sum(t.follows) AS follows
    FROM traffic_daily AS t, bounds AS b
    WHERE t.day BETWEEN b.prev_start AND b.cur_end
    GROUP BY 1
), p AS (
    SELECT b.cur_start, b.cur_end, b.prev_start, b.prev_end,
           coalesce(c.impressions, 0)::int8 AS impressions,
           coalesce(c.clicks, 0)::int8 AS clicks,
           coalesce(c.likes + c.collects + c.comments + c.shares, 0)::int8 AS interactions,
           coalesce(:w_like * c.likes + :w_collect * c.collects + :w_comment * c.comments
                    + :w_share * c.shares + :w_follow * c.follows, 0)::float8 AS ces,
           coalesce(q.impressions, 0)::int8 AS prev_impressions,
           coalesce(q.clicks, 0)::int8 AS prev_clicks,
           coalesce(q.likes + q.collects + q.comments + q.shares, 0)::int8 AS prev_interactions,
           coalesce(:w_like * q.likes + :w_collect * q.collects + :w_comment * q.comments
                    + :w_share * q.shares + :w_follow * q.follows, 0)::float8 AS prev_ces
    FROM bounds AS b
    LEFT JOIN periods AS c ON c.is_current
    LEFT JOIN periods AS q ON NOT q.is_current
), r AS (
    SELECT p.*,
           clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
           interactions::float8 / NULLIF(impressions, 0)::float8 AS engagement_rate,
           prev_clicks::float8 / NULLIF(prev_impressions, 0)::float8 AS prev_ctr,
           prev_interactions::float8 / NULLIF(prev_impressions, 0)::float8 AS prev_engagement_rate
    FROM p
)
SELECT cur_start AS from_day, cur_end AS to_day, prev_start AS prev_from_day, prev_end AS prev_to_day,
       impressions, clicks, ctr, interactions, engagement_rate, ces,
       prev_impressions, prev_clicks, prev_ctr, prev_interactions, prev_engagement_rate, prev_ces,
       (impressions - prev_impressions)::float8 / NULLIF(prev_impressions, 0)::float8 AS impressions_change,
       (clicks - prev_clicks)::float8 / NULLIF(prev_clicks, 0)::float8 AS clicks_change,
       (ctr - prev_ctr) / NULLIF(prev_ctr, 0) AS ctr_change,
       (interactions - prev_interactions)::float8 / NULLIF(prev_interactions, 0)::float8 AS interactions_change,
       (engagement_rate - prev_engagement_rate) / NULLIF(prev_engagement_rate, 0) AS engagement_rate_change,
       (ces - prev_ces) / NULLIF(prev_ces, 0) AS ces_change
FROM r
