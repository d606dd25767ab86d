-- Dwell-time histogram per tenant-local day and note type ('unknown' for a missing type or note): the
-- dwell metrics read a few thousand rows instead of every note's histogram. Like audience_days it
-- depends on the notes table too: events add to the note's type as it is then, and a notes import
-- moves the histogram of every note whose type it changes (sql/rollups/notes_before.sql), taking the
-- counts from dwell_histogram, so the order in which files arrive cannot change it.
CREATE TABLE dwell_type_daily (
    day       date     NOT NULL,
    note_type text     NOT NULL,
    bucket    smallint NOT NULL,
    events    bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (day, note_type, bucket)
);

INSERT INTO dwell_type_daily (day, note_type, bucket, events)
SELECT h.day, coalesce(n.note_type, 'unknown'), h.bucket, sum(h.events)
FROM dwell_histogram AS h
LEFT JOIN notes AS n ON n.note_id = h.note_id
GROUP BY 1, 2, 3;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE dwell_type_daily;
