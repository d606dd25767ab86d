-- Run by a notes import after its merge, with what sql/rollups/notes_before.sql listed.

-- note_first_day is recomputed from note_hourly for the notes that are new or were published at another time.
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

DROP TABLE rollup_published_notes;

-- new_user_segment_days: events of notes with another category move to their new segment.
INSERT INTO new_user_segment_days AS r (user_id, segment, day, signup_day, impressions, clicks)
SELECT m.user_id, v.segment, m.day, m.signup_day, sum(v.sign * m.impressions), sum(v.sign * m.clicks)
FROM rollup_segment_moves AS m
CROSS JOIN LATERAL (VALUES (m.old_segment, -1), (m.new_segment, 1)) AS v(segment, sign)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3
ON CONFLICT (user_id, segment, day) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks;

DELETE FROM new_user_segment_days AS d
USING (SELECT DISTINCT user_id, old_segment, day FROM rollup_segment_moves) AS m
WHERE d.user_id = m.user_id AND d.segment = m.old_segment AND d.day = m.day AND d.impressions = 0 AND d.clicks = 0;

DROP TABLE rollup_segment_moves, rollup_latest_notes;
