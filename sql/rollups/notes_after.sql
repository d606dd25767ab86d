-- Run by a notes import after its merge: note_first_day is recomputed from note_hourly for the notes
-- that are new or were published at another time (listed by sql/rollups/notes_before.sql).
DELETE FROM note_first_day WHERE note_id IN (SELECT note_id FROM rollup_published_notes);

INSERT INTO note_first_day (note_id, impressions, clicks, likes, collects, comments, shares, follows)
SELECT n.note_id, sum(h.impressions), sum(h.clicks), sum(h.likes), sum(h.collects), sum(h.comments), sum(h.shares), sum(h.follows)
FROM rollup_published_notes AS c
JOIN notes AS n ON n.note_id = c.note_id
JOIN note_hourly AS h
    ON h.note_id = n.note_id
   AND h.hour >= date_trunc('hour', n.published_at, 'UTC')
   AND h.hour < date_trunc('hour', n.published_at, 'UTC') + interval '24 hours'
GROUP BY n.note_id
ORDER BY n.note_id;

DROP TABLE rollup_published_notes
