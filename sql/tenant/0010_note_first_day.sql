-- Each note's counts over its first 24 hours: the whole UTC hours from the hour of publication, as the
-- cold-start metric counts them by default (it reads this table for hours = 24 and note_hourly
-- otherwise). It depends on the notes table too: events count here only once their note is known, and
-- a notes import recomputes, from note_hourly, every note it adds or whose publication time it changes
-- (sql/rollups/notes_before.sql, notes_after.sql).
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

INSERT INTO note_first_day (note_id, impressions, clicks, likes, collects, comments, shares, follows)
SELECT n.note_id, sum(h.impressions), sum(h.clicks), sum(h.likes), sum(h.collects), sum(h.comments), sum(h.shares), sum(h.follows)
FROM notes AS n
JOIN note_hourly AS h
    ON h.note_id = n.note_id
   AND h.hour >= date_trunc('hour', n.published_at, 'UTC')
   AND h.hour < date_trunc('hour', n.published_at, 'UTC') + interval '24 hours'
GROUP BY n.note_id;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE note_first_day;
