/* ---
name: viral_notes
title: Viral notes
description: >-
  Notes whose interactions (likes + collects + comments + shares, follows not counted) in the
  tenant-local days `from`..`to` reached at least `threshold`, most interactions first (ties by
  note_id). Counts cover only events inside the window. ctr = clicks / impressions, NULL without
  impressions. title, author_id, note_type and published_at are NULL for notes missing from the
  notes table.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  threshold: {type: int, default: 1000, min: 1}
  limit: {type: int, default: 100, min: 1, max: 10000}
--- */
WITH per_note AS (
    -- Counts over [from, to] (see hotpot_lib.note_window).
    SELECT * FROM hotpot_lib.note_window(:from, :to) WHERE likes + collects + comments + shares >= :threshold
    ORDER BY likes + collects + comments + shares DESC, note_id
    LIMIT :limit
)
SELECT p.note_id, n.title, n.author_id, n.note_type, n.published_at,
       p.impressions, p.clicks, p.clicks::float8 / NULLIF(p.impressions, 0)::float8 AS ctr,
       p.likes + p.collects + p.comments + p.shares AS interactions,
       p.likes, p.collects, p.comments, p.shares
FROM per_note AS p
LEFT JOIN notes AS n ON n.note_id = p.note_id
ORDER BY interactions DESC, p.note_id
LIMIT :limit
