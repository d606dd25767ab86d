/* ---
name: ces_by_note
title: CES score per note
description: >-
  Content engagement score per note over the tenant-local days `from`..`to`:
  ces = w_like*likes + w_collect*collects + w_comment*comments + w_share*shares + w_follow*follows,
  counting the note's events in the window. One row per note with at least one event in the
  window (title, author_id, note_type NULL when the note is not in the notes table), highest ces
  first (ties by note_id), at most `limit` rows. ces_per_1k_impressions = 1000 * ces / impressions,
  NULL when the note had no impressions.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  w_like: {type: float, default: 1.0}
  w_collect: {type: float, default: 1.0}
  w_comment: {type: float, default: 4.0}
  w_share: {type: float, default: 4.0}
  w_follow: {type: float, default: 8.0}
  limit: {type: int, default: 100, min: 1, max: 10000}
--- */
WITH per_note AS (
    -- Counts over [from, to] of the notes with events in them (see hotpot_lib.note_window).
    SELECT * FROM hotpot_lib.note_window(:from, :to)
), scored AS (
    SELECT p.*, (:w_like * likes + :w_collect * collects + :w_comment * comments
                 + :w_share * shares + :w_follow * follows)::float8 AS ces
    FROM per_note AS p
), top AS (
    -- Rank first, then look up the few notes shown (joining every note first costs more than the rest).
    SELECT * FROM scored ORDER BY ces DESC, note_id LIMIT :limit
)
SELECT s.note_id, n.title, n.author_id, n.note_type,
       s.impressions, s.clicks, s.likes, s.collects, s.comments, s.shares, s.follows, s.ces,
       1000 * s.ces / NULLIF(s.impressions, 0)::float8 AS ces_per_1k_impressions
FROM top AS s
LEFT JOIN notes AS n ON n.note_id = s.note_id
ORDER BY s.ces DESC, s.note_id
LIMIT :limit
