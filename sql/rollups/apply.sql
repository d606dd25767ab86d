-- Adds the events in the relation `rollup_source` to every rollup. During an import `rollup_source` is
-- a temporary table of the events that import actually inserted (duplicates excluded); a rebuild
-- truncates the rollups and points `rollup_source` at all events. The session's TimeZone is the
-- tenant's, so ::date and date_trunc give tenant-local days. Rows go in key order, which keeps the
-- rollups' index inserts local.

INSERT INTO note_daily AS r (note_id, day, impressions, clicks, likes, collects, comments, shares, follows, dwell_sum, dwell_count)
SELECT note_id, occurred_at::date,
       count(*) FILTER (WHERE event_type = 'impression'),
       count(*) FILTER (WHERE event_type = 'click'),
       count(*) FILTER (WHERE event_type = 'like'),
       count(*) FILTER (WHERE event_type = 'collect'),
       count(*) FILTER (WHERE event_type = 'comment'),
       count(*) FILTER (WHERE event_type = 'share'),
       count(*) FILTER (WHERE event_type = 'follow'),
       coalesce(sum(dwell_ms), 0), count(dwell_ms)
FROM rollup_source
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (note_id, day) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows, dwell_sum = r.dwell_sum + excluded.dwell_sum,
    dwell_count = r.dwell_count + excluded.dwell_count;

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

INSERT INTO user_daily AS r (user_id, day, events, impressions, clicks, engagements)
SELECT user_id, occurred_at::date, count(*),
       count(*) FILTER (WHERE event_type = 'impression'),
       count(*) FILTER (WHERE event_type = 'click'),
       count(*) FILTER (WHERE event_type IN ('like', 'collect', 'comment', 'share', 'follow'))
FROM rollup_source
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (user_id, day) DO UPDATE SET
    events = r.events + excluded.events, impressions = r.impressions + excluded.impressions,
    clicks = r.clicks + excluded.clicks, engagements = r.engagements + excluded.engagements;

INSERT INTO user_first_seen AS r (user_id, first_seen_at, first_day)
SELECT user_id, min(occurred_at), min(occurred_at)::date
FROM rollup_source
GROUP BY 1
ORDER BY 1
ON CONFLICT (user_id) DO UPDATE SET
    first_seen_at = LEAST(r.first_seen_at, excluded.first_seen_at),
    first_day = LEAST(r.first_seen_at, excluded.first_seen_at)::date;

INSERT INTO user_variant_daily AS r (user_id, day, variant, impressions, clicks)
SELECT user_id, occurred_at::date, variant,
       count(*) FILTER (WHERE event_type = 'impression'),
       count(*) FILTER (WHERE event_type = 'click')
FROM rollup_source
WHERE event_type IN ('impression', 'click')
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (user_id, day, variant) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks;

INSERT INTO dwell_histogram AS r (note_id, day, bucket, events)
SELECT note_id, occurred_at::date, hotpot_lib.dwell_bucket(dwell_ms), count(*)
FROM rollup_source
WHERE dwell_ms IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
ON CONFLICT (note_id, day, bucket) DO UPDATE SET events = r.events + excluded.events;
