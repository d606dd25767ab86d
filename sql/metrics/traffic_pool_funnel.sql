/* ---
name: traffic_pool_funnel
title: Traffic pool funnel
description: >-
  Among notes published in the tenant-local days `from`..`to`, how many reached each cumulative
  impression tier: a note reaches a tier when its impressions from the tenant-local day of publication
  through day `to` are at least the tier's threshold (tier1..tier4, default 500 / 2,000 / 20,000 /
  100,000). Row tier 0 is all notes published in the window (min_impressions 0).
  share_of_published = notes / published notes; promotion_rate = notes at this tier / notes at the
  previous tier (the conversion from one traffic pool to the next), NULL for tier 0 or when the
  previous tier is empty.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  tier1: {type: int, default: 500, min: 1}
  tier2: {type: int, default: 2000, min: 1}
  tier3: {type: int, default: 20000, min: 1}
  tier4: {type: int, default: 100000, min: 1}
--- */
WITH published AS (
    SELECT note_id, published_at::date AS published_day
    FROM notes
    WHERE published_at >= :from::timestamptz AND published_at < (:to + 1)::timestamptz
), reach AS (
    -- Impressions from the publication day to `to`: running totals at `to` minus those of the day before
    -- publication, which are zeros unless the note had events before it (see note_cumulative).
    SELECT p.note_id,
           coalesce(t.impressions, 0)
           - CASE WHEN t.first_hour::date < p.published_day THEN
                 coalesce((SELECT b.impressions FROM note_cumulative AS b
                           WHERE b.day = least(p.published_day - 1, (SELECT max(day) FROM note_cumulative)) AND b.note_id = p.note_id), 0)
             ELSE 0 END AS impressions
    FROM published AS p
    LEFT JOIN note_cumulative AS t
        ON t.day = (SELECT least(:to, max(day)) FROM note_cumulative) AND t.note_id = p.note_id
), counts AS (
    SELECT count(*)::int8 AS t0, count(*) FILTER (WHERE impressions >= :tier1)::int8 AS t1,
           count(*) FILTER (WHERE impressions >= :tier2)::int8 AS t2, count(*) FILTER (WHERE impressions >= :tier3)::int8 AS t3,
           count(*) FILTER (WHERE impressions >= :tier4)::int8 AS t4
    FROM reach
), tiers AS (
    SELECT v.tier, v.min_impressions, v.notes
    FROM counts AS c
    CROSS JOIN LATERAL (VALUES (0, 0::int8, c.t0), (1, :tier1, c.t1), (2, :tier2, c.t2), (3, :tier3, c.t3), (4, :tier4, c.t4))
        AS v(tier, min_impressions, notes)
)
SELECT tier, min_impressions, notes,
       notes::float8 / NULLIF(first_value(notes) OVER (ORDER BY tier), 0)::float8 AS share_of_published,
       CASE WHEN tier > 0 THEN notes::float8 / NULLIF(lag(notes) OVER (ORDER BY tier), 0)::float8 END AS promotion_rate
FROM tiers
ORDER BY tier
