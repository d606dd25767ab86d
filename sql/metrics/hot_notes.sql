/* ---
name: hot_notes
title: Hot notes
description: >-
  Top `limit` notes by hot_score = ces / (age_hours + 2) ^ gravity (hotpot_lib.decay), among notes
  published in the `max_age_days` days before `as_of` (default: now). age_hours = hours from
  notes.published_at to as_of. Counts cover the note's events from the UTC hour in which it was
  published through the UTC hour containing as_of (hourly rollup granularity: that whole hour
  counts). interactions = likes + collects + comments + shares; ces = w_like*likes +
  w_collect*collects + w_comment*comments + w_share*shares + w_follow*follows. ctr = clicks /
  impressions; ctr_wilson_lower = lower bound of the 95% Wilson score interval of the ctr (a
  conservative CTR for notes with few impressions); both NULL without impressions.
  ces_per_1k_clicks = 1000 * ces / clicks, NULL without clicks. Ties by note_id.
params:
  as_of: {type: timestamp, optional: true}
  max_age_days: {type: int, default: 30, min: 1, max: 365}
  gravity: {type: float, default: 1.8, min: 0.0, max: 5.0}
  w_like: {type: float, default: 1.0}
  w_collect: {type: float, default: 1.0}
  w_comment: {type: float, default: 4.0}
  w_share: {type: float, default: 4.0}
  w_follow: {type: float, default: 8.0}
  limit: {type: int, default: 20, min: 1, max: 1000}
--- */
WITH params AS (
    SELECT coalesce(:as_of, now()) AS as_of, (SELECT max(day) FROM note_cumulative) AS last_day
), totals AS MATERIALIZED (
    -- Materialized so the last day's rows are read through the index, not by scanning every day's.
    SELECT * FROM note_cumulative WHERE day = (SELECT max(day) FROM note_cumulative)
), base AS (
    -- Candidates with all of their events: their running totals on the last day (see note_cumulative).
    SELECT n.note_id, n.title, n.author_id, n.note_type, n.published_at, p.as_of, p.last_day,
           date_trunc('hour', n.published_at, 'UTC') AS published_hour, t.first_hour,
           extract(epoch FROM p.as_of - n.published_at)::float8 / 3600 AS age_hours,
           coalesce(t.impressions, 0) AS impressions, coalesce(t.clicks, 0) AS clicks, coalesce(t.likes, 0) AS likes,
           coalesce(t.collects, 0) AS collects, coalesce(t.comments, 0) AS comments, coalesce(t.shares, 0) AS shares,
           coalesce(t.follows, 0) AS follows
    FROM params AS p
    JOIN notes AS n
        ON n.published_at > p.as_of - make_interval(days => :max_age_days::int) AND n.published_at <= p.as_of
    LEFT JOIN totals AS t ON t.note_id = n.note_id
), outside AS (
    -- Events before the hour of publication or after the hour of as_of, to take off the totals. Usually
    -- there are none and nothing is looked up: only notes whose first event came before the hour of
    -- publication are looked at, and later events only when as_of is before the end of the last day.
    SELECT b.note_id, h.impressions, h.clicks, h.likes, h.collects, h.comments, h.shares, h.follows
    FROM base AS b
    JOIN note_hourly AS h ON h.note_id = b.note_id AND h.hour < b.published_hour
    WHERE b.first_hour < b.published_hour
    UNION ALL
    SELECT b.note_id, h.impressions, h.clicks, h.likes, h.collects, h.comments, h.shares, h.follows
    FROM base AS b
    JOIN note_hourly AS h ON h.note_id = b.note_id AND h.hour > b.as_of
    WHERE b.as_of < (b.last_day + 1)::timestamptz
), outside_sums AS (
    SELECT note_id, sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks, sum(likes)::int8 AS likes,
           sum(collects)::int8 AS collects, sum(comments)::int8 AS comments, sum(shares)::int8 AS shares,
           sum(follows)::int8 AS follows
    FROM outside
    GROUP BY note_id
), counted AS (
    SELECT b.note_id, b.title, b.author_id, b.note_type, b.published_at, b.age_hours,
           b.impressions - coalesce(o.impressions, 0) AS impressions, b.clicks - coalesce(o.clicks, 0) AS clicks,
           b.likes - coalesce(o.likes, 0) AS likes, b.collects - coalesce(o.collects, 0) AS collects,
           b.comments - coalesce(o.comments, 0) AS comments, b.shares - coalesce(o.shares, 0) AS shares,
           b.follows - coalesce(o.follows, 0) AS follows
    FROM base AS b
    LEFT JOIN outside_sums AS o ON o.note_id = b.note_id
), ranked AS (
    SELECT c.*, c.likes + c.collects + c.comments + c.shares AS interactions,
           (:w_like * c.likes + :w_collect * c.collects + :w_comment * c.comments
            + :w_share * c.shares + :w_follow * c.follows)::float8 AS ces
    FROM counted AS c
), top AS (
    SELECT *, hotpot_lib.decay(ces, age_hours, :gravity) AS hot_score
    FROM ranked
    ORDER BY hot_score DESC, note_id
    LIMIT :limit
)
SELECT note_id, title, author_id, note_type, published_at, age_hours,
       impressions::int8, clicks::int8, interactions::int8, ces, hot_score,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       hotpot_lib.wilson_lower(clicks, impressions) AS ctr_wilson_lower,
       1000 * ces / NULLIF(clicks, 0)::float8 AS ces_per_1k_clicks
FROM top
ORDER BY hot_score DESC, note_id
