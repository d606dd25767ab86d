-- Per note and hour (UTC hour start): early velocity and cold-start windows after publication.
CREATE TABLE note_hourly (
    note_id     text        NOT NULL,
    hour        timestamptz NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, hour)
);
-- All notes' rows of a range of hours: hot_notes with a past as_of reads one day of hours this way.
CREATE INDEX note_hourly_hour_idx ON note_hourly (hour);

-- step: events
INSERT INTO note_hourly AS r (note_id, hour, impressions, clicks, likes, collects, comments, shares, follows)
SELECT note_id, date_trunc('hour', occurred_at, 'UTC'),
       count(*) FILTER (WHERE event_type = 'impression'),
       count(*) FILTER (WHERE event_type = 'click'),
       count(*) FILTER (WHERE event_type = 'like'),
       count(*) FILTER (WHERE event_type = 'collect'),
       count(*) FILTER (WHERE event_type = 'comment'),
       count(*) FILTER (WHERE event_type = 'share'),
       count(*) FILTER (WHERE event_type = 'follow')
FROM rollup_source
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (note_id, hour) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows;
