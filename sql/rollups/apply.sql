-- Adds the events in the relation `rollup_source` to every rollup. During an import `rollup_source` is
-- a temporary table of the events that import actually inserted (duplicates excluded); a rebuild
-- truncates the rollups and points `rollup_source` at all events. The session's TimeZone is the
-- tenant's, so ::date and date_trunc give tenant-local days. Rows go in key order, which keeps the
-- rollups' index inserts local.

-- What this run changed, for the distinct-user rollups further down; dropped at the end.
CREATE TEMP TABLE rollup_new_note_days (note_id text NOT NULL, day date NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE rollup_new_user_days (user_id text NOT NULL, day date NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE rollup_new_variant_days (user_id text NOT NULL, variant text NOT NULL, day date NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE rollup_cohort_moves (user_id text NOT NULL, old_week date NOT NULL, new_week date NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE rollup_new_segment_days (user_id text NOT NULL, segment text NOT NULL, day date NOT NULL, signup_day date NOT NULL) ON COMMIT DROP;

-- What this run adds per note and day: note_daily takes it, and tag_daily spreads it over the note's tags.
CREATE TEMP TABLE rollup_note_day_delta ON COMMIT DROP AS
SELECT note_id, occurred_at::date AS day,
       count(*) FILTER (WHERE event_type = 'impression') AS impressions,
       count(*) FILTER (WHERE event_type = 'click') AS clicks,
       count(*) FILTER (WHERE event_type = 'like') AS likes,
       count(*) FILTER (WHERE event_type = 'collect') AS collects,
       count(*) FILTER (WHERE event_type = 'comment') AS comments,
       count(*) FILTER (WHERE event_type = 'share') AS shares,
       count(*) FILTER (WHERE event_type = 'follow') AS follows,
       coalesce(sum(dwell_ms), 0) AS dwell_sum, count(dwell_ms) AS dwell_count
FROM rollup_source
GROUP BY 1, 2;

-- note_daily; a row this statement inserts is a new active day of the note (for tag_note_days).
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

-- note_cumulative (see there). Notes with new events are recomputed from the first day that changed
-- (or the first day after the old last day, when the new events came later still); every other
-- note's last row is carried forward to the new last day.
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

-- tag_daily, under the note's tags as they are now (see there).
INSERT INTO tag_daily AS r (tag, day, impressions, clicks, likes, collects, comments, shares, follows)
SELECT t.tag, e.day, sum(e.impressions), sum(e.clicks), sum(e.likes), sum(e.collects), sum(e.comments),
       sum(e.shares), sum(e.follows)
FROM rollup_note_day_delta AS e
JOIN tag_daily_members AS t
    ON t.note_id = e.note_id
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (tag, day) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows;

-- tag_note_days: the (day, previous active day) pairs of each note that this run's new active days
-- change, worked out as for variant_user_days below, under the note's tags as they are now.
WITH firsts AS (
    SELECT f.note_id, f.m,
           (SELECT max(p.day) FROM note_daily AS p WHERE p.note_id = f.note_id AND p.day < f.m) AS prior
    FROM (SELECT note_id, min(day) AS m FROM rollup_new_note_days GROUP BY 1) AS f
), tail AS (
    SELECT f.note_id, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM note_daily AS x WHERE x.note_id = f.note_id AND x.day >= f.m OFFSET 0) AS r
    LEFT JOIN rollup_new_note_days AS n ON n.note_id = f.note_id AND n.day = r.day
), pairs AS (
    SELECT note_id, day, coalesce(lag(day) OVER (PARTITION BY note_id ORDER BY day), prior) AS prev_day, 1 AS change
    FROM tail
    UNION ALL
    SELECT note_id, day, coalesce(lag(day) OVER (PARTITION BY note_id ORDER BY day), prior), -1
    FROM tail
    WHERE NOT added
), net AS (
    SELECT note_id, day, prev_day, sum(change) AS change FROM pairs GROUP BY 1, 2, 3 HAVING sum(change) <> 0
)
INSERT INTO tag_note_days AS g (tag, day, prev_day, notes)
SELECT t.tag, n.day, n.prev_day, sum(n.change)
FROM net AS n
JOIN tag_daily_members AS t ON t.note_id = n.note_id
GROUP BY 1, 2, 3
HAVING sum(n.change) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (tag, day, prev_day) DO UPDATE SET notes = g.notes + excluded.notes;

DELETE FROM tag_note_days WHERE notes = 0;

INSERT INTO event_range AS r (first_event, last_event)
SELECT min(occurred_at), max(occurred_at) FROM rollup_source HAVING min(occurred_at) IS NOT NULL
ON CONFLICT (only_row) DO UPDATE SET
    first_event = least(r.first_event, excluded.first_event), last_event = greatest(r.last_event, excluded.last_event);

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

-- note_first_day: events in the first 24 hours of a known note (see there).
INSERT INTO note_first_day AS r (note_id, impressions, clicks, likes, collects, comments, shares, follows)
SELECT e.note_id,
       count(*) FILTER (WHERE e.event_type = 'impression'),
       count(*) FILTER (WHERE e.event_type = 'click'),
       count(*) FILTER (WHERE e.event_type = 'like'),
       count(*) FILTER (WHERE e.event_type = 'collect'),
       count(*) FILTER (WHERE e.event_type = 'comment'),
       count(*) FILTER (WHERE e.event_type = 'share'),
       count(*) FILTER (WHERE e.event_type = 'follow')
FROM rollup_source AS e
JOIN notes AS n ON n.note_id = e.note_id
WHERE e.occurred_at >= date_trunc('hour', n.published_at, 'UTC')
  AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '24 hours'
GROUP BY e.note_id
ORDER BY e.note_id
ON CONFLICT (note_id) DO UPDATE SET
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
), new_days AS (
    INSERT INTO rollup_new_user_days (user_id, day) SELECT user_id, day FROM upserted WHERE inserted
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

-- audience_days: the (day, previous active day) pairs of each user that this run's new active days
-- change, worked out as for variant_user_days below, under the user's attributes as they are now.
WITH firsts AS (
    SELECT f.user_id, f.m,
           (SELECT max(p.day) FROM user_daily AS p WHERE p.user_id = f.user_id AND p.day < f.m) AS prior
    FROM (SELECT user_id, min(day) AS m FROM rollup_new_user_days GROUP BY 1) AS f
), tail AS (
    SELECT f.user_id, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM user_daily AS x WHERE x.user_id = f.user_id AND x.day >= f.m OFFSET 0) AS r
    LEFT JOIN rollup_new_user_days AS n ON n.user_id = f.user_id AND n.day = r.day
), pairs AS (
    SELECT user_id, day, coalesce(lag(day) OVER (PARTITION BY user_id ORDER BY day), prior) AS prev_day, 1 AS change
    FROM tail
    UNION ALL
    SELECT user_id, day, coalesce(lag(day) OVER (PARTITION BY user_id ORDER BY day), prior), -1
    FROM tail
    WHERE NOT added
), net AS (
    SELECT user_id, day, prev_day, sum(change) AS change FROM pairs GROUP BY 1, 2, 3 HAVING sum(change) <> 0
)
INSERT INTO audience_days AS a (attribute, value, day, prev_day, users)
SELECT v.attribute, v.value, n.day, n.prev_day, sum(n.change)
FROM net AS n
LEFT JOIN users AS u ON u.user_id = n.user_id
CROSS JOIN LATERAL (VALUES ('gender', coalesce(u.gender, 'unknown')), ('age_band', coalesce(u.age_band, 'unknown')),
                           ('city', coalesce(u.city, 'unknown'))) AS v(attribute, value)
GROUP BY 1, 2, 3, 4
HAVING sum(n.change) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (attribute, value, day, prev_day) DO UPDATE SET users = a.users + excluded.users;

DELETE FROM audience_days WHERE users = 0;

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
), cohort_moves AS (
    INSERT INTO rollup_cohort_moves (user_id, old_week, new_week)
    SELECT u.user_id, date_trunc('week', b.first_day::timestamp)::date, date_trunc('week', u.first_day::timestamp)::date
    FROM upserted AS u JOIN before AS b ON b.user_id = u.user_id
    WHERE date_trunc('week', b.first_day::timestamp) <> date_trunc('week', u.first_day::timestamp)
)
INSERT INTO daily_users AS t (day, new_users)
SELECT day, sum(change) FROM moves GROUP BY day ORDER BY day
ON CONFLICT (day) DO UPDATE SET new_users = t.new_users + excluded.new_users;

-- Users move to the cohort of their new first week with all the weeks they were active before this run;
-- the weeks this run adds follow below, under the cohort the user has now.
INSERT INTO cohort_weeks AS c (cohort_week, week, users)
SELECT cohort_week, week, sum(change)
FROM (SELECT m.old_week AS cohort_week, w.week, -1 AS change
      FROM rollup_cohort_moves AS m JOIN user_weeks AS w ON w.user_id = m.user_id
      UNION ALL
      SELECT m.new_week, w.week, 1
      FROM rollup_cohort_moves AS m JOIN user_weeks AS w ON w.user_id = m.user_id) AS s
GROUP BY 1, 2
HAVING sum(change) <> 0
ORDER BY 1, 2
ON CONFLICT (cohort_week, week) DO UPDATE SET users = c.users + excluded.users;

WITH added AS (
    INSERT INTO user_weeks AS r (user_id, week)
    SELECT DISTINCT user_id, date_trunc('week', occurred_at::date::timestamp)::date
    FROM rollup_source
    ORDER BY 1, 2
    ON CONFLICT (user_id, week) DO NOTHING
    RETURNING r.user_id, r.week
)
INSERT INTO cohort_weeks AS c (cohort_week, week, users)
SELECT date_trunc('week', f.first_day::timestamp)::date, a.week, count(*)
FROM added AS a JOIN user_first_seen AS f ON f.user_id = a.user_id
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (cohort_week, week) DO UPDATE SET users = c.users + excluded.users;

DELETE FROM cohort_weeks WHERE users = 0;

-- user_variant_daily; a (user, day, variant) row whose impressions were 0 before this statement is a
-- user newly seen in that variant that day.
WITH delta AS (
    SELECT user_id, occurred_at::date AS day, variant,
           count(*) FILTER (WHERE event_type = 'impression') AS impressions,
           count(*) FILTER (WHERE event_type = 'click') AS clicks
    FROM rollup_source
    WHERE event_type IN ('impression', 'click')
    GROUP BY 1, 2, 3
), upserted AS (
    INSERT INTO user_variant_daily AS r (user_id, day, variant, impressions, clicks)
    SELECT user_id, day, variant, impressions, clicks FROM delta
    ORDER BY 1, 2, 3
    ON CONFLICT (user_id, day, variant) DO UPDATE SET
        impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks
    RETURNING r.user_id, r.day, r.variant, r.impressions
)
INSERT INTO rollup_new_variant_days (user_id, variant, day)
SELECT u.user_id, u.variant, u.day
FROM upserted AS u
JOIN delta AS d ON d.user_id = u.user_id AND d.day = u.day AND d.variant = u.variant
WHERE d.impressions > 0 AND u.impressions = d.impressions;

-- variant_user_days: for each (user, variant), the days this run added and the old days right after
-- them get a new previous day. Before the first added day m nothing changes; from m on, the pairs
-- (day, previous day) are counted again over all days (+1) and over the old days alone (-1). `prior`
-- is the last day before m, the same with or without the added days. The days from m on are read per
-- (user, variant) through the primary key (LATERAL, OFFSET 0 against flattening): as a plain join the
-- planner scanned and hashed the whole table, seconds on 10M events for a day's import.
WITH firsts AS (
    SELECT f.user_id, f.variant, f.m,
           (SELECT max(p.day) FROM user_variant_daily AS p
            WHERE p.user_id = f.user_id AND p.day < f.m AND p.variant = f.variant AND p.impressions > 0) AS prior
    FROM (SELECT user_id, variant, min(day) AS m FROM rollup_new_variant_days GROUP BY 1, 2) AS f
), tail AS (
    SELECT f.user_id, f.variant, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM user_variant_daily AS x
                        WHERE x.user_id = f.user_id AND x.day >= f.m AND x.variant = f.variant AND x.impressions > 0
                        OFFSET 0) AS r
    LEFT JOIN rollup_new_variant_days AS n ON n.user_id = f.user_id AND n.day = r.day AND n.variant = f.variant
), pairs AS (
    SELECT variant, day, coalesce(lag(day) OVER (PARTITION BY user_id, variant ORDER BY day), prior) AS prev_day, 1 AS change
    FROM tail
    UNION ALL
    SELECT variant, day, coalesce(lag(day) OVER (PARTITION BY user_id, variant ORDER BY day), prior), -1
    FROM tail
    WHERE NOT added
)
INSERT INTO variant_user_days AS g (variant, day, prev_day, users)
SELECT variant, day, prev_day, sum(change)
FROM pairs
GROUP BY 1, 2, 3
HAVING sum(change) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (variant, day, prev_day) DO UPDATE SET users = g.users + excluded.users;

DELETE FROM variant_user_days WHERE users = 0;

-- new_user_segment_days and new_user_segment_totals: impressions and clicks in the user's first 90 days,
-- by segment under the user and note as they are now (see there); a (user, segment, day) row whose
-- impressions were 0 before this statement is a new day with impressions for new_user_segment_users.
WITH delta AS (
    SELECT e.user_id, hotpot_lib.interest_segment(n.category, u.interests) AS segment, e.occurred_at::date AS day,
           u.signup_at::date AS signup_day,
           count(*) FILTER (WHERE e.event_type = 'impression') AS impressions,
           count(*) FILTER (WHERE e.event_type = 'click') AS clicks
    FROM rollup_source AS e
    JOIN users AS u ON u.user_id = e.user_id
    LEFT JOIN notes AS n ON n.note_id = e.note_id
    WHERE e.event_type IN ('impression', 'click')
      AND e.occurred_at::date - u.signup_at::date BETWEEN 0 AND 89
    GROUP BY 1, 2, 3, 4
), upserted AS (
    INSERT INTO new_user_segment_days AS r (user_id, segment, day, signup_day, impressions, clicks)
    SELECT user_id, segment, day, signup_day, impressions, clicks FROM delta
    ORDER BY 1, 2, 3
    ON CONFLICT (user_id, segment, day) DO UPDATE SET
        impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks
    RETURNING r.user_id, r.segment, r.day, r.signup_day, r.impressions
), totals AS (
    INSERT INTO new_user_segment_totals AS t (signup_day, day, segment, impressions, clicks)
    SELECT signup_day, day, segment, sum(impressions), sum(clicks) FROM delta
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (signup_day, day, segment) DO UPDATE SET
        impressions = t.impressions + excluded.impressions, clicks = t.clicks + excluded.clicks
)
INSERT INTO rollup_new_segment_days (user_id, segment, day, signup_day)
SELECT u.user_id, u.segment, u.day, u.signup_day
FROM upserted AS u
JOIN delta AS d ON d.user_id = u.user_id AND d.segment = u.segment AND d.day = u.day
WHERE d.impressions > 0 AND u.impressions = d.impressions;

-- new_user_segment_users: as variant_user_days above, per (user, segment).
WITH firsts AS (
    SELECT f.user_id, f.segment, f.signup_day, f.m,
           (SELECT max(p.day) FROM new_user_segment_days AS p
            WHERE p.user_id = f.user_id AND p.segment = f.segment AND p.day < f.m AND p.impressions > 0) AS prior
    FROM (SELECT user_id, segment, signup_day, min(day) AS m FROM rollup_new_segment_days GROUP BY 1, 2, 3) AS f
), tail AS (
    SELECT f.user_id, f.segment, f.signup_day, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM new_user_segment_days AS x
                        WHERE x.user_id = f.user_id AND x.segment = f.segment AND x.day >= f.m AND x.impressions > 0
                        OFFSET 0) AS r
    LEFT JOIN rollup_new_segment_days AS n ON n.user_id = f.user_id AND n.segment = f.segment AND n.day = r.day
), pairs AS (
    SELECT signup_day, segment, day, coalesce(lag(day) OVER (PARTITION BY user_id, segment ORDER BY day), prior) AS prev_day, 1 AS change
    FROM tail
    UNION ALL
    SELECT signup_day, segment, day, coalesce(lag(day) OVER (PARTITION BY user_id, segment ORDER BY day), prior), -1
    FROM tail
    WHERE NOT added
)
INSERT INTO new_user_segment_users AS g (signup_day, segment, day, prev_day, users)
SELECT signup_day, segment, day, prev_day, sum(change)
FROM pairs
GROUP BY 1, 2, 3, 4
HAVING sum(change) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (signup_day, segment, day, prev_day) DO UPDATE SET users = g.users + excluded.users;

DELETE FROM new_user_segment_users WHERE users = 0;

-- dwell_type_daily, under each note's type as it is now (see there).
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

DROP TABLE rollup_note_day_delta, rollup_new_note_days, rollup_new_user_days, rollup_new_variant_days, rollup_cohort_moves, rollup_note_starts, rollup_new_segment_days;
