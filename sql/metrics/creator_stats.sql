/* ---
name: creator_stats
title: Creator statistics
description: >-
  Per author (notes.author_id) of notes published in the tenant-local days `from`..`to`, counting
  each such note's events from publication through day `to` (notes without events count as 0):
  notes = notes published in the window; followers from the users table (NULL if unknown);
  impressions, clicks, interactions (likes + collects + comments + shares) summed over those
  notes; median_clicks and median_interactions = median per note (interpolated, so may end in
  .5); hit_notes = notes with at least `like_threshold` likes and hit_rate = hit_notes / notes.
  Only authors with at least `min_notes` notes; most interactions first (ties by author_id), at
  most `limit` rows.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  like_threshold: {type: int, default: 1000, min: 1}
  min_notes: {type: int, default: 1, min: 1}
  limit: {type: int, default: 100, min: 1, max: 10000}
--- */
WITH published AS (
    SELECT note_id, author_id
    FROM notes
    WHERE published_at >= :from::timestamptz AND published_at < (:to + 1)::timestamptz
), per_note AS (
    -- Everything up to `to`: the note's running totals at `to` (see note_cumulative).
    SELECT p.note_id, p.author_id,
           coalesce(t.impressions, 0) AS impressions, coalesce(t.clicks, 0) AS clicks,
           coalesce(t.likes + t.collects + t.comments + t.shares, 0) AS interactions,
           coalesce(t.likes, 0) AS likes
    FROM published AS p
    LEFT JOIN note_cumulative AS t
        ON t.day = (SELECT least(:to, max(day)) FROM note_cumulative) AND t.note_id = p.note_id
), per_author AS (
    SELECT author_id, count(*)::int8 AS notes,
           sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks, sum(interactions)::int8 AS interactions,
           count(*) FILTER (WHERE likes >= :like_threshold)::int8 AS hit_notes
    FROM per_note
    GROUP BY author_id
    HAVING count(*) >= :min_notes
), top AS (
    -- Rank first; medians and followers only for the authors shown.
    SELECT * FROM per_author ORDER BY interactions DESC, author_id LIMIT :limit
), medians AS (
    SELECT author_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY clicks::float8) AS median_clicks,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY interactions::float8) AS median_interactions
    FROM per_note
    WHERE author_id IN (SELECT author_id FROM top)
    GROUP BY author_id
)
SELECT a.author_id, u.followers::int8 AS followers, a.notes, a.impressions, a.clicks, a.interactions,
       m.median_clicks, m.median_interactions, a.hit_notes, a.hit_notes::float8 / a.notes::float8 AS hit_rate
FROM top AS a
JOIN medians AS m ON m.author_id = a.author_id
LEFT JOIN users AS u ON u.user_id = a.author_id
ORDER BY a.interactions DESC, a.author_id
LIMIT :limit
