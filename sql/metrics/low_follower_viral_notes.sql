/* ---
name: low_follower_viral_notes
title: Viral notes by low-follower creators
description: >-
  Notes whose interactions (likes + collects + comments + shares) in the tenant-local days
  `from`..`to` reached at least `threshold`, written by an author (notes.author_id = users.user_id)
  with fewer than `max_followers` followers. Notes missing from the notes table, and authors
  missing from the users table or with unknown (NULL) followers, are excluded. Most interactions
  first, ties by note_id. ctr = clicks / impressions, NULL without impressions.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  threshold: {type: int, default: 1000, min: 1}
  max_followers: {type: int, default: 10000, min: 1}
  limit: {type: int, default: 100, min: 1, max: 10000}
--- */
WITH per_note AS (
    -- Counts over [from, to] (see hotpot_lib.note_window).
    SELECT note_id, impressions, clicks, likes + collects + comments + shares AS interactions
    FROM hotpot_lib.note_window(:from, :to)
    WHERE likes + collects + comments + shares >= :threshold
)
SELECT p.note_id, n.title, n.author_id, u.followers::int8 AS author_followers, n.note_type, n.published_at,
       p.impressions, p.clicks, p.clicks::float8 / NULLIF(p.impressions, 0)::float8 AS ctr,
       p.interactions
FROM per_note AS p
JOIN notes AS n ON n.note_id = p.note_id
JOIN users AS u ON u.user_id = n.author_id
WHERE u.followers < :max_followers
ORDER BY p.interactions DESC, p.note_id
LIMIT :limit
