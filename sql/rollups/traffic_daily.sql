-- Per tenant-local day, surface and variant (NULL kept as its own group): traffic mix and A/B readouts.
CREATE TABLE traffic_daily (
    day         date   NOT NULL,
    surface     text,
    variant     text,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    dwell_sum   bigint NOT NULL DEFAULT 0,
    dwell_count bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX traffic_daily_key ON traffic_daily (day, surface, variant) NULLS NOT DISTINCT;

-- step: events
INSERT INTO traffic_daily AS r (day, surface, variant, impressions, clicks, likes, collects, comments, shares, follows, dwell_sum, dwell_count)
SELECT occurred_at::date, surface, variant,
       count(*) FILTER (WHERE event_type = 'impression'),
       count(*) FILTER (WHERE event_type = 'click'),
       count(*) FILTER (WHERE event_type = 'like'),
       count(*) FILTER (WHERE event_type = 'collect'),
       count(*) FILTER (WHERE event_type = 'comment'),
       count(*) FILTER (WHERE event_type = 'share'),
       count(*) FILTER (WHERE event_type = 'follow'),
       coalesce(sum(dwell_ms), 0), count(dwell_ms)
FROM rollup_source
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (day, surface, variant) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows, dwell_sum = r.dwell_sum + excluded.dwell_sum,
    dwell_count = r.dwell_count + excluded.dwell_count;
