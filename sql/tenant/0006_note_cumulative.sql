-- Running totals per note: for every note, one row per tenant-local day from its first day with events
-- to the tenant's last day with events, holding the note's counts up to and including that day. A
-- note's counts over any range [from, to] are then two rows apart (the row at `to` minus the row at
-- `from - 1`), so per-note rankings over a window read two rows per note instead of a row per note and
-- day. Rows for a day after the last one are the last one's (nothing happened since). Kept by
-- sql/rollups/apply.sql inside each import; the primary key leads with the day, so a day's rows sit
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

INSERT INTO note_cumulative (day, note_id, first_hour, impressions, clicks, likes, collects, comments, shares, follows)
SELECT f.first_day + i, f.note_id, fh.first_hour,
       sum(coalesce(d.impressions, 0)) OVER w, sum(coalesce(d.clicks, 0)) OVER w, sum(coalesce(d.likes, 0)) OVER w,
       sum(coalesce(d.collects, 0)) OVER w, sum(coalesce(d.comments, 0)) OVER w, sum(coalesce(d.shares, 0)) OVER w,
       sum(coalesce(d.follows, 0)) OVER w
FROM (SELECT note_id, min(day) AS first_day FROM note_daily GROUP BY 1) AS f
JOIN (SELECT note_id, min(hour) AS first_hour FROM note_hourly GROUP BY 1) AS fh ON fh.note_id = f.note_id
CROSS JOIN (SELECT max(day) AS last_day FROM note_daily) AS l
CROSS JOIN LATERAL generate_series(0, l.last_day - f.first_day) AS i
LEFT JOIN note_daily AS d ON d.note_id = f.note_id AND d.day = f.first_day + i
WINDOW w AS (PARTITION BY f.note_id ORDER BY i)
ORDER BY 1, 2;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE note_cumulative;
