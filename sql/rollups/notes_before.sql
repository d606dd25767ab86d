-- Run by a notes import before its merge (sql/imports/merge_notes.sql), with the same "last row per
-- note wins" rule: every note whose type changes takes its dwell histogram to the new type, and the
-- notes that are new or change their publication time are noted for sql/rollups/notes_after.sql.
CREATE TEMP TABLE rollup_latest_notes ON COMMIT DROP AS
SELECT DISTINCT ON (note_id) * FROM import_notes ORDER BY note_id, line DESC;

CREATE TEMP TABLE rollup_published_notes ON COMMIT DROP AS
SELECT l.note_id
FROM rollup_latest_notes AS l
LEFT JOIN notes AS n ON n.note_id = l.note_id
WHERE n.published_at IS DISTINCT FROM l.published_at;

WITH changed AS (
    SELECT l.note_id, coalesce(l.note_type, 'unknown') AS note_type, coalesce(n.note_type, 'unknown') AS old_type
    FROM rollup_latest_notes AS l
    LEFT JOIN notes AS n ON n.note_id = l.note_id
    WHERE coalesce(l.note_type, 'unknown') <> coalesce(n.note_type, 'unknown')
)
INSERT INTO dwell_type_daily AS r (day, note_type, bucket, events)
SELECT h.day, v.note_type, h.bucket, sum(v.sign * h.events)
FROM changed AS c
JOIN dwell_histogram AS h ON h.note_id = c.note_id
CROSS JOIN LATERAL (VALUES (c.old_type, -1), (c.note_type, 1)) AS v(note_type, sign)
GROUP BY 1, 2, 3
HAVING sum(v.sign * h.events) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (day, note_type, bucket) DO UPDATE SET events = r.events + excluded.events;

DELETE FROM dwell_type_daily WHERE events = 0;

-- Notes whose category changes move their events between new-user segments: the moves per user and day,
-- applied by sql/rollups/notes_after.sql between the two halves of sql/rollups/new_user_segments_*.sql.
CREATE TEMP TABLE rollup_segment_moves ON COMMIT DROP AS
SELECT e.user_id, e.occurred_at::date AS day, u.signup_at::date AS signup_day,
       hotpot_lib.interest_segment(n.category, u.interests) AS old_segment,
       hotpot_lib.interest_segment(l.category, u.interests) AS new_segment,
       count(*) FILTER (WHERE e.event_type = 'impression') AS impressions,
       count(*) FILTER (WHERE e.event_type = 'click') AS clicks
FROM rollup_latest_notes AS l
LEFT JOIN notes AS n ON n.note_id = l.note_id
-- Each changed note's events through events_note_time_idx (LATERAL, OFFSET 0: the staged notes have no
-- statistics, and as a plain join the planner may hash every event).
CROSS JOIN LATERAL (SELECT x.user_id, x.occurred_at, x.event_type FROM events AS x
                    WHERE x.note_id = l.note_id AND x.event_type IN ('impression', 'click') OFFSET 0) AS e
JOIN users AS u ON u.user_id = e.user_id
WHERE l.category IS DISTINCT FROM n.category
  AND e.occurred_at::date - u.signup_at::date BETWEEN 0 AND 89
  AND hotpot_lib.interest_segment(n.category, u.interests) <> hotpot_lib.interest_segment(l.category, u.interests)
GROUP BY 1, 2, 3, 4, 5;

CREATE TEMP TABLE rollup_segment_users ON COMMIT DROP AS
SELECT DISTINCT user_id FROM rollup_segment_moves;

ANALYZE rollup_segment_moves, rollup_segment_users;

-- Notes that are new or published at another time count again in tag_quality_days
-- (sql/rollups/tag_quality_before.sql).
CREATE TEMP TABLE rollup_tag_quality_notes ON COMMIT DROP AS
SELECT note_id FROM rollup_published_notes;

ANALYZE rollup_tag_quality_notes;
