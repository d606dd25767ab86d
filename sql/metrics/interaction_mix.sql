/* ---
name: interaction_mix
title: Interaction mix
description: >-
  Over the tenant-local days `from` to `to` inclusive: one row per interaction type (like, collect,
  comment, share, follow, always in that order) with its event count and share = count / the
  total of all five types (a fraction; the shares sum to 1). share is NULL when there were no
  interactions at all. With `surface`, only events on that surface.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  surface: {type: text, optional: true, allowed: [feed, search, profile]}
--- */
WITH totals AS (
    SELECT coalesce(sum(likes), 0) AS likes, coalesce(sum(collects), 0) AS collects,
           coalesce(sum(comments), 0) AS comments, coalesce(sum(shares), 0) AS shares,
           coalesce(sum(follows), 0) AS follows
    FROM traffic_daily
    WHERE day BETWEEN :from AND :to AND (:surface IS NULL OR surface = :surface)
)
SELECT v.interaction_type, v.events::int8 AS events,
       v.events::float8 / NULLIF(t.likes + t.collects + t.comments + t.shares + t.follows, 0)::float8 AS share
FROM totals AS t
CROSS JOIN LATERAL (VALUES (1, 'like', t.likes), (2, 'collect', t.collects), (3, 'comment', t.comments),
                           (4, 'share', t.shares), (5, 'follow', t.follows)) AS v(ord, interaction_type, events)
ORDER BY v.ord
