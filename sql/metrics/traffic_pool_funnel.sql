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
    WHERE published_at::date BETWEEN :from AND :to
), reach AS (
    -- Impressions from the publication day to `to`: running totals at `to` minus the day before
    -- publication (see note_cumulative).
    SELECT p.note_id, coalesce(t.impressions, 0) - coalesce(b.impressions, 0) AS impressions
    FROM published AS p
    LEFT JOIN note_cumulative AS t
        ON t.day = (SELECT least(:to, max(day)) FROM note_cumulative) AND t.note_id = p.note_id
    LEFT JOIN note_cumulative AS b
        ON b.day = least(p.published_day - 1, (SELECT max(day) FROM note_cumulative)) AND b.note_id = p.note_id
), tiers(tier, min_impressions) AS (
    VALUES (0, 0::int8), (1, :tier1), (2, :tier2), (3, :tier3), (4, :tier4)
), counts AS (
    SELECT t.tier, t.min_impressions, count(r.note_id)::int8 AS notes
    FROM tiers AS t
    LEFT JOIN reach AS r ON r.impressions >= t.min_impressions
    GROUP BY t.tier, t.min_impressions
)
SELECT tier, min_impressions, notes,
       notes::float8 / NULLIF(first_value(notes) OVER (ORDER BY tier), 0)::float8 AS share_of_published,
       CASE WHEN tier > 0 THEN notes::float8 / NULLIF(lag(notes) OVER (ORDER BY tier), 0)::float8 END AS promotion_rate
FROM counts
ORDER BY tier
