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
    SELECT coalesce(:as_of, now()) AS as_of
), candidates AS (
    SELECT n.note_id, n.title, n.author_id, n.note_type, n.published_at, p.as_of,
           extract(epoch FROM p.as_of - n.published_at)::float8 / 3600 AS age_hours
    FROM notes AS n, params AS p
    WHERE n.published_at > p.as_of - make_interval(days => :max_age_days::int)
      AND n.published_at <= p.as_of
), counts AS (
    SELECT c.note_id,
           coalesce(sum(h.impressions), 0)::int8 AS impressions,
           coalesce(sum(h.clicks), 0)::int8 AS clicks,
           coalesce(sum(h.likes), 0)::int8 AS likes, coalesce(sum(h.collects), 0)::int8 AS collects,
           coalesce(sum(h.comments), 0)::int8 AS comments, coalesce(sum(h.shares), 0)::int8 AS shares,
           coalesce(sum(h.follows), 0)::int8 AS follows
    FROM candidates AS c
    LEFT JOIN note_hourly AS h
        ON h.note_id = c.note_id
       AND h.hour >= date_trunc('hour', c.published_at, 'UTC')
       AND h.hour <= c.as_of
    GROUP BY c.note_id
), scored AS (
    SELECT c.*, k.impressions, k.clicks, k.likes + k.collects + k.comments + k.shares AS interactions,
           (:w_like * k.likes + :w_collect * k.collects + :w_comment * k.comments
            + :w_share * k.shares + :w_follow * k.follows)::float8 AS ces
    FROM candidates AS c
    JOIN counts AS k ON k.note_id = c.note_id
)
SELECT note_id, title, author_id, note_type, published_at, age_hours,
       impressions, clicks, interactions, ces,
       hotpot_lib.decay(ces, age_hours, :gravity) AS hot_score,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       hotpot_lib.wilson_lower(clicks, impressions) AS ctr_wilson_lower,
       1000 * ces / NULLIF(clicks, 0)::float8 AS ces_per_1k_clicks
FROM scored
ORDER BY hot_score DESC, note_id
LIMIT :limit
