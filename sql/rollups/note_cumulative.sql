-- Running totals per note: for every note, one row per tenant-local day from its first day with events
-- to the tenant's last day with events, holding the note's counts up to and including that day. A
-- note's counts over any range [from, to] are then two rows apart (the row at `to` minus the row at
-- `from - 1`), so per-note rankings over a window read two rows per note instead of a row per note and
-- day. Rows for a day after the last one are the last one's (nothing happened since). Kept by
-- the events step below; the primary key leads with the day, so a day's rows sit
-- together and imports, which add days at the end, keep them that way. first_hour, the UTC hour of the
-- note's first event, lets queries skip looking for events before a time it is not after.
CREATE TABLE note_cumulative (
    day         date   NOT NULL,
    note_id     text   NOT NULL,
    first_hour  timestamptz NOT NULL,
    impressions bigint NOT NULL,
    clicks      bigint NOT NULL,
    likes       bigint NOT NULL,
    collects    bigint NOT NULL,
    comments    bigint NOT NULL,
    shares      bigint NOT NULL,
    follows     bigint NOT NULL,
    PRIMARY KEY (day, note_id)
) WITH (fillfactor = 90);

-- step: events
-- Notes with new events are recomputed from the first day that changed (or the first day after the old
-- last day, when the new events came later still); every other note's last row is carried forward to
-- the new last day.
CREATE TEMP TABLE rollup_note_starts ON COMMIT DROP AS
SELECT c.note_id,
       CASE WHEN k.note_id IS NOT NULL THEN least(c.first_day, l.last_day + 1) ELSE c.first_day END AS start_day,
       least(c.first_hour, k.first_hour) AS first_hour
FROM (SELECT note_id, min(occurred_at::date) AS first_day, date_trunc('hour', min(occurred_at), 'UTC') AS first_hour
      FROM rollup_source GROUP BY 1) AS c
CROSS JOIN (SELECT max(day) AS last_day FROM note_cumulative) AS l
LEFT JOIN note_cumulative AS k ON k.day = l.last_day AND k.note_id = c.note_id;

INSERT INTO note_cumulative (day, note_id, first_hour, impressions, clicks, likes, collects, comments, shares, follows)
SELECT l.last_day + i, k.note_id, k.first_hour, k.impressions, k.clicks, k.likes, k.collects, k.comments, k.shares, k.follows
FROM (SELECT max(day) AS last_day FROM note_cumulative) AS l
JOIN note_cumulative AS k ON k.day = l.last_day
CROSS JOIN generate_series(1, (SELECT max(day) FROM note_daily) - l.last_day) AS i
WHERE NOT EXISTS (SELECT 1 FROM rollup_note_starts AS s WHERE s.note_id = k.note_id)
ORDER BY 1, 2;

INSERT INTO note_cumulative AS k (day, note_id, first_hour, impressions, clicks, likes, collects, comments, shares, follows)
SELECT s.start_day + i, s.note_id, s.first_hour,
       coalesce(b.impressions, 0) + sum(coalesce(d.impressions, 0)) OVER w,
       coalesce(b.clicks, 0) + sum(coalesce(d.clicks, 0)) OVER w,
       coalesce(b.likes, 0) + sum(coalesce(d.likes, 0)) OVER w,
       coalesce(b.collects, 0) + sum(coalesce(d.collects, 0)) OVER w,
       coalesce(b.comments, 0) + sum(coalesce(d.comments, 0)) OVER w,
       coalesce(b.shares, 0) + sum(coalesce(d.shares, 0)) OVER w,
       coalesce(b.follows, 0) + sum(coalesce(d.follows, 0)) OVER w
FROM rollup_note_starts AS s
CROSS JOIN (SELECT max(day) AS last_day FROM note_daily) AS l
CROSS JOIN LATERAL generate_series(0, l.last_day - s.start_day) AS i
-- Primary-key lookups, one per note and one per note and day (a daily import touches a day or two per
-- note), where plain joins let the planner sort or hash the whole of note_cumulative and note_daily.
-- OFFSET 0 keeps each subquery from being flattened back into such a join.
LEFT JOIN LATERAL (SELECT * FROM note_cumulative AS y WHERE y.day = s.start_day - 1 AND y.note_id = s.note_id OFFSET 0) AS b ON true
LEFT JOIN LATERAL (SELECT * FROM note_daily AS x WHERE x.note_id = s.note_id AND x.day = s.start_day + i OFFSET 0) AS d ON true
WINDOW w AS (PARTITION BY s.note_id ORDER BY i)
ORDER BY 1, 2
ON CONFLICT (day, note_id) DO UPDATE SET
    first_hour = excluded.first_hour,
    impressions = excluded.impressions, clicks = excluded.clicks, likes = excluded.likes, collects = excluded.collects,
    comments = excluded.comments, shares = excluded.shares, follows = excluded.follows;

DROP TABLE rollup_note_starts;
