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
    -- With events after the hour of as_of (a past as_of), the totals through that hour are the running
    -- totals of the day before as_of's day plus that day's hours up to as_of's: those hours are one range
    -- of note_hourly's hour index for all notes, so the cost follows one day's rows rather than all the
    -- hours after as_of (taking those off each candidate's last totals: 330 ms on 10M events with 11 days
    -- after as_of, against 95 ms this way). That needs the tenant's days to start on a UTC hour,
    -- which all but a few zones' do (Asia/Kolkata's do not); there, and when nothing came after as_of,
    -- each candidate's totals are its last day's, less the hours after as_of below.
    SELECT a.*, a.last_hour > a.as_of AND date_trunc('hour', a.day_start, 'UTC') = a.day_start AS split
    FROM (SELECT x.as_of, x.as_of::date::timestamptz AS day_start, (SELECT max(day) FROM note_cumulative) AS last_day,
                 (SELECT date_trunc('hour', last_event, 'UTC') FROM event_range) AS last_hour
          FROM (SELECT coalesce(:as_of, now()) AS as_of) AS x) AS a
), as_of_day AS (
    -- The hours of as_of's day through the hour containing as_of, per note (split only).
    SELECT h.note_id, min(h.hour) AS first_hour, sum(h.impressions) AS impressions, sum(h.clicks) AS clicks,
           sum(h.likes) AS likes, sum(h.collects) AS collects, sum(h.comments) AS comments,
           sum(h.shares) AS shares, sum(h.follows) AS follows
    FROM params AS p
    JOIN note_hourly AS h ON p.split AND h.hour >= p.day_start AND h.hour <= p.as_of
    GROUP BY h.note_id
), candidates AS (
    -- Each candidate with its running totals (see note_cumulative) on the last day, or on the day before
    -- as_of's plus as_of_day. Titles and authors join only the top notes, at the end.
    SELECT n.note_id, n.published_at, p.as_of, p.split,
           extract(epoch FROM p.as_of - n.published_at)::float8 / 3600 AS age_hours,
           -- first_hour (an hour boundary) + 1 hour <= published_at: the first event's hour is before the
           -- hour of publication, said without date_trunc on every row. Without a row on the day before
           -- as_of's day, the note's first events are on that day.
           coalesce(t.first_hour, d.first_hour) + interval '1 hour' <= n.published_at
               OR (NOT p.split AND p.last_hour > p.as_of) AS has_outside,
           coalesce(t.impressions, 0) + coalesce(d.impressions, 0) AS impressions,
           coalesce(t.clicks, 0) + coalesce(d.clicks, 0) AS clicks, coalesce(t.likes, 0) + coalesce(d.likes, 0) AS likes,
           coalesce(t.collects, 0) + coalesce(d.collects, 0) AS collects,
           coalesce(t.comments, 0) + coalesce(d.comments, 0) AS comments,
           coalesce(t.shares, 0) + coalesce(d.shares, 0) AS shares, coalesce(t.follows, 0) + coalesce(d.follows, 0) AS follows
    FROM params AS p
    JOIN notes AS n
        ON n.published_at > p.as_of - make_interval(days => :max_age_days::int) AND n.published_at <= p.as_of
    LEFT JOIN note_cumulative AS t
        ON t.day = CASE WHEN p.split THEN p.as_of::date - 1 ELSE p.last_day END AND t.note_id = n.note_id
    LEFT JOIN as_of_day AS d ON d.note_id = n.note_id
), corrected AS (
    -- The events before the hour of publication, and (unless split) after the hour of as_of, to take off
    -- the totals. The subquery runs only for notes that can have any (has_outside): a first event before
    -- the hour of publication, or any event after as_of at all (event_range), which the default as_of,
    -- now, never has. OFFSET 0 keeps `outside` computed once per row rather than copied into each of its
    -- uses.
    SELECT c.*,
           CASE WHEN c.has_outside THEN
               -- Two ranges of the primary key (note_id, hour), not one OR over all of the note's hours.
               (SELECT ARRAY[sum(h.impressions), sum(h.clicks), sum(h.likes), sum(h.collects), sum(h.comments),
                             sum(h.shares), sum(h.follows)]::int8[]
                FROM (SELECT x.impressions, x.clicks, x.likes, x.collects, x.comments, x.shares, x.follows
                      FROM note_hourly AS x
                      WHERE x.note_id = c.note_id AND x.hour < date_trunc('hour', c.published_at, 'UTC')
                      UNION ALL
                      SELECT x.impressions, x.clicks, x.likes, x.collects, x.comments, x.shares, x.follows
                      FROM note_hourly AS x
                      WHERE NOT c.split AND x.note_id = c.note_id AND x.hour > c.as_of) AS h)
           END AS outside
    FROM candidates AS c
    OFFSET 0
), ranked AS (
    SELECT note_id, published_at, age_hours,
           impressions - coalesce(outside[1], 0) AS impressions, clicks - coalesce(outside[2], 0) AS clicks,
           likes - coalesce(outside[3], 0) AS likes, collects - coalesce(outside[4], 0) AS collects,
           comments - coalesce(outside[5], 0) AS comments, shares - coalesce(outside[6], 0) AS shares,
           follows - coalesce(outside[7], 0) AS follows
    FROM corrected
), scored AS (
    SELECT r.*, r.likes + r.collects + r.comments + r.shares AS interactions,
           (:w_like * r.likes + :w_collect * r.collects + :w_comment * r.comments
            + :w_share * r.shares + :w_follow * r.follows)::float8 AS ces
    FROM ranked AS r
), top AS (
    SELECT *, hotpot_lib.decay(ces, age_hours, :gravity) AS hot_score
    FROM scored
    ORDER BY hot_score DESC, note_id
    LIMIT :limit
)
SELECT t.note_id, n.title, n.author_id, n.note_type, t.published_at, t.age_hours,
       t.impressions::int8, t.clicks::int8, t.interactions::int8, t.ces, t.hot_score,
       t.clicks::float8 / NULLIF(t.impressions, 0)::float8 AS ctr,
       hotpot_lib.wilson_lower(t.clicks, t.impressions) AS ctr_wilson_lower,
       1000 * t.ces / NULLIF(t.clicks, 0)::float8 AS ces_per_1k_clicks
FROM top AS t
-- Each top note's row by primary key (OFFSET 0 against flattening: as a plain join under the runner's
-- row cap the planner rescanned all notes for each top note).
CROSS JOIN LATERAL (SELECT x.title, x.author_id, x.note_type FROM notes AS x WHERE x.note_id = t.note_id OFFSET 0) AS n
ORDER BY t.hot_score DESC, t.note_id
