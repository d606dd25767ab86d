/* ---
name: cold_start_pass_rate
title: Cold-start pass rate
description: >-
  Among notes published in the tenant-local days `from`..`to`, the share that passed cold start:
  over the note's first `hours` hours (whole UTC clock hours starting with the hour in which it was
  published, the granularity of the hourly rollup), ctr = clicks / impressions is at least
  `min_ctr` AND engagement_rate = (likes + collects + comments + shares) / impressions is at least
  `min_engagement_rate`. Notes with no impressions in that period fail. Only notes whose
  first-`hours` period had ended by `as_of` (default: now) are evaluated; notes_published also
  counts the others. pass_rate = notes_passed / notes_evaluated, NULL when none were evaluated.
  One row per note_type ('image', 'video', 'unknown' for a NULL type) and a first row 'all'.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  hours: {type: int, default: 24, min: 1, max: 168}
  min_ctr: {type: float, default: 0.08, min: 0.0, max: 1.0}
  min_engagement_rate: {type: float, default: 0.03, min: 0.0}
  as_of: {type: timestamp, optional: true}
--- */
WITH params AS (
    -- A note is evaluated once its period is over: date_trunc('hour', published_at) + hours <= as_of,
    -- which is published_at < evaluated_before, one threshold rather than date_trunc on every note.
    SELECT date_trunc('hour', coalesce(:as_of, now()) - make_interval(hours => :hours::int), 'UTC') + interval '1 hour' AS evaluated_before
), published AS NOT MATERIALIZED (
    SELECT n.note_id, coalesce(n.note_type, 'unknown') AS note_type, n.published_at,
           n.published_at < p.evaluated_before AS evaluated
    FROM notes AS n
    CROSS JOIN params AS p
    WHERE n.published_at >= :from::timestamptz AND n.published_at < (:to + 1)::timestamptz
), early AS (
    -- For the default 24 hours, from the note_first_day rollup; for other periods, each note's hourly
    -- rows in the period, read through the primary key (note_id, hour).
    SELECT p.note_id, p.note_type, p.evaluated,
           f.impressions, f.clicks, f.likes + f.collects + f.comments + f.shares AS interactions
    FROM published AS p
    LEFT JOIN note_first_day AS f ON f.note_id = p.note_id
    WHERE :hours = 24
    UNION ALL
    SELECT p.note_id, p.note_type, p.evaluated, h.impressions, h.clicks, h.interactions
    FROM published AS p
    CROSS JOIN LATERAL (
        SELECT sum(x.impressions) AS impressions, sum(x.clicks) AS clicks,
               sum(x.likes + x.collects + x.comments + x.shares) AS interactions
        FROM note_hourly AS x
        WHERE x.note_id = p.note_id
          AND x.hour >= date_trunc('hour', p.published_at, 'UTC')
          AND x.hour < date_trunc('hour', p.published_at, 'UTC') + make_interval(hours => :hours::int)
    ) AS h
    WHERE :hours <> 24
), judged AS (
    SELECT note_type, evaluated,
           evaluated AND coalesce(clicks::float8 / NULLIF(impressions, 0)::float8 >= :min_ctr, false) AS pass_ctr,
           evaluated AND coalesce(interactions::float8 / NULLIF(impressions, 0)::float8 >= :min_engagement_rate, false) AS pass_engagement
    FROM early
), by_type AS (
    SELECT note_type,
           count(*)::int8 AS notes_published,
           count(*) FILTER (WHERE evaluated)::int8 AS notes_evaluated,
           count(*) FILTER (WHERE pass_ctr)::int8 AS notes_passed_ctr,
           count(*) FILTER (WHERE pass_engagement)::int8 AS notes_passed_engagement,
           count(*) FILTER (WHERE pass_ctr AND pass_engagement)::int8 AS notes_passed
    FROM judged
    GROUP BY note_type
), grouped AS (
    SELECT * FROM by_type
    UNION ALL
    SELECT 'all', coalesce(sum(notes_published), 0)::int8, coalesce(sum(notes_evaluated), 0)::int8,
           coalesce(sum(notes_passed_ctr), 0)::int8, coalesce(sum(notes_passed_engagement), 0)::int8,
           coalesce(sum(notes_passed), 0)::int8
    FROM by_type
)
SELECT note_type, notes_published, notes_evaluated, notes_passed_ctr, notes_passed_engagement, notes_passed,
       notes_passed::float8 / NULLIF(notes_evaluated, 0)::float8 AS pass_rate
FROM grouped
ORDER BY note_type <> 'all', note_type
