-- Counts per note and tenant-local day.
CREATE TABLE note_daily (
    note_id     text   NOT NULL,
    day         date   NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    dwell_sum   bigint NOT NULL DEFAULT 0,   -- sum of dwell_ms over events that carry one
    dwell_count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, day)
);
CREATE INDEX note_daily_day_idx ON note_daily (day);

-- step: events
-- A row this statement inserts is a new active day of the note: rollup_new_note_days, for tag_note_days.
CREATE TEMP TABLE rollup_new_note_days (note_id text NOT NULL, day date NOT NULL) ON COMMIT DROP;

WITH upserted AS (
    INSERT INTO note_daily AS r (note_id, day, impressions, clicks, likes, collects, comments, shares, follows, dwell_sum, dwell_count)
    SELECT note_id, day, impressions, clicks, likes, collects, comments, shares, follows, dwell_sum, dwell_count
    FROM rollup_note_day_delta
    ORDER BY 1, 2
    ON CONFLICT (note_id, day) DO UPDATE SET
        impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
        likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
        comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
        follows = r.follows + excluded.follows, dwell_sum = r.dwell_sum + excluded.dwell_sum,
        dwell_count = r.dwell_count + excluded.dwell_count
    RETURNING r.note_id, r.day, (r.xmax = 0) AS inserted
)
INSERT INTO rollup_new_note_days (note_id, day)
SELECT note_id, day FROM upserted WHERE inserted;
