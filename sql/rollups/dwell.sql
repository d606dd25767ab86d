-- Dwell-time histogram per note and day. Bucket upper bounds in ms come from hotpot_lib.dwell_bucket().
CREATE TABLE dwell_histogram (
    note_id text     NOT NULL,
    day     date     NOT NULL,
    bucket  smallint NOT NULL,
    events  bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, day, bucket)
);
CREATE INDEX dwell_histogram_day_idx ON dwell_histogram (day);

-- Dwell-time histogram per tenant-local day and note type ('unknown' for a missing type or note): the
-- dwell metrics read a few thousand rows instead of every note's histogram. Like audience_days it
-- depends on the notes table too: events add to the note's type as it is then, and a notes import
-- moves the histogram of every note whose type it changes (the notes.before step below), taking the
-- counts from dwell_histogram, so the order in which files arrive cannot change it.
CREATE TABLE dwell_type_daily (
    day       date     NOT NULL,
    note_type text     NOT NULL,
    bucket    smallint NOT NULL,
    events    bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (day, note_type, bucket)
);

-- step: events
-- dwell_type_daily, under each note's type as it is now (see above).
INSERT INTO dwell_type_daily AS r (day, note_type, bucket, events)
SELECT e.occurred_at::date, coalesce(n.note_type, 'unknown'), hotpot_lib.dwell_bucket(e.dwell_ms), count(*)
FROM rollup_source AS e
LEFT JOIN notes AS n ON n.note_id = e.note_id
WHERE e.dwell_ms IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (day, note_type, bucket) DO UPDATE SET events = r.events + excluded.events;

INSERT INTO dwell_histogram AS r (note_id, day, bucket, events)
SELECT note_id, occurred_at::date, hotpot_lib.dwell_bucket(dwell_ms), count(*)
FROM rollup_source
WHERE dwell_ms IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (note_id, day, bucket) DO UPDATE SET events = r.events + excluded.events;

-- step: notes.before
-- Every note whose type changes takes its dwell histogram to the new type.
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
