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

-- user_daily, and in the same statement daily_users: a (user, day) row this statement inserts is a new
-- active user that day; a row whose engagements were 0 before it is a newly engaged one. (xmax = 0 marks
-- a row ON CONFLICT inserted rather than updated.)
WITH delta AS (
    SELECT user_id, occurred_at::date AS day, count(*) AS events,
           count(*) FILTER (WHERE event_type = 'impression') AS impressions,
           count(*) FILTER (WHERE event_type = 'click') AS clicks,
           count(*) FILTER (WHERE event_type IN ('like', 'collect', 'comment', 'share', 'follow')) AS engagements
    FROM rollup_source
    GROUP BY 1, 2
), upserted AS (
    INSERT INTO user_daily AS r (user_id, day, events, impressions, clicks, engagements)
    SELECT user_id, day, events, impressions, clicks, engagements FROM delta
    ORDER BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET
        events = r.events + excluded.events, impressions = r.impressions + excluded.impressions,
        clicks = r.clicks + excluded.clicks, engagements = r.engagements + excluded.engagements
    RETURNING r.user_id, r.day, r.engagements, (r.xmax = 0) AS inserted
)
INSERT INTO daily_users AS t (day, active_users, engaged_users)
SELECT u.day, count(*) FILTER (WHERE u.inserted),
       count(*) FILTER (WHERE u.engagements > 0 AND u.engagements = d.engagements)
FROM upserted AS u
JOIN delta AS d ON d.user_id = u.user_id AND d.day = u.day
GROUP BY u.day
ORDER BY u.day
ON CONFLICT (day) DO UPDATE SET
    active_users = t.active_users + excluded.active_users, engaged_users = t.engaged_users + excluded.engaged_users;

-- user_first_seen, and daily_users.new_users: a new user counts on their first day; a user whose first
-- event turns out earlier (a late file) moves from the old first day to the new one. Every part of one
-- statement sees the table as it was before it, so `before` holds the old first days.
WITH delta AS (
    SELECT user_id, min(occurred_at) AS first_seen_at
    FROM rollup_source
    GROUP BY 1
), before AS (
    SELECT f.user_id, f.first_day
    FROM user_first_seen AS f
    JOIN delta AS d ON d.user_id = f.user_id
), upserted AS (
    INSERT INTO user_first_seen AS r (user_id, first_seen_at, first_day)
    SELECT user_id, first_seen_at, first_seen_at::date FROM delta
    ORDER BY 1
    ON CONFLICT (user_id) DO UPDATE SET
        first_seen_at = LEAST(r.first_seen_at, excluded.first_seen_at),
        first_day = LEAST(r.first_seen_at, excluded.first_seen_at)::date
    RETURNING r.user_id, r.first_day
), moves AS (
    SELECT u.first_day AS day, 1 AS change
    FROM upserted AS u LEFT JOIN before AS b ON b.user_id = u.user_id
    WHERE b.first_day IS DISTINCT FROM u.first_day
    UNION ALL
    SELECT b.first_day, -1
    FROM upserted AS u JOIN before AS b ON b.user_id = u.user_id
    WHERE b.first_day <> u.first_day
)
INSERT INTO daily_users AS t (day, new_users)
SELECT day, sum(change) FROM moves GROUP BY day ORDER BY day
ON CONFLICT (day) DO UPDATE SET new_users = t.new_users + excluded.new_users;

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
