-- Each note's counts over its first 24 hours: the whole UTC hours from the hour of publication, as the
-- cold-start metric counts them by default (it reads this table for hours = 24 and note_hourly
-- otherwise). It depends on the notes table too: events count here only once their note is known, and
-- a notes import recomputes, from note_hourly, every note it adds or whose publication time it changes
-- (the notes.after step below).
CREATE TABLE note_first_day (
    note_id     text   PRIMARY KEY,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0
);

-- step: events
-- note_first_day: events in the first 24 hours of a known note (see above).
INSERT INTO note_first_day AS r (note_id, impressions, clicks, likes, collects, comments, shares, follows)
SELECT e.note_id,
       count(*) FILTER (WHERE e.event_type = 'impression'),
       count(*) FILTER (WHERE e.event_type = 'click'),
       count(*) FILTER (WHERE e.event_type = 'like'),
       count(*) FILTER (WHERE e.event_type = 'collect'),
       count(*) FILTER (WHERE e.event_type = 'comment'),
       count(*) FILTER (WHERE e.event_type = 'share'),
       count(*) FILTER (WHERE e.event_type = 'follow')
FROM rollup_source AS e
JOIN notes AS n ON n.note_id = e.note_id
WHERE e.occurred_at >= date_trunc('hour', n.published_at, 'UTC')
  AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '24 hours'
GROUP BY e.note_id
ORDER BY e.note_id
ON CONFLICT (note_id) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows;

-- step: notes.after
-- Recomputed from note_hourly for the notes that are new or were published at another time.
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
