-- Per user, tenant-local day and variant (NULL kept as its own group): the one per-user-day table. It
-- serves activity (DAU, retention, audiences: a user's active days are its days with any row) and the
-- per-user sums experiment readouts take the user as the unit with (docs/experiments.md). A user is
-- almost always in one variant, so this is as many rows as (user, day) pairs; user_daily, a second table
-- of the same size, is gone. engagements = likes + collects + comments + shares + follows; dwell_capped
-- = the sum of dwell_ms with each event's dwell capped at hotpot_lib.default_dwell_cap_ms().
CREATE TABLE user_variant_daily (
    user_id      text   NOT NULL,
    day          date   NOT NULL,
    variant      text,
    events       bigint NOT NULL DEFAULT 0,
    impressions  bigint NOT NULL DEFAULT 0,
    clicks       bigint NOT NULL DEFAULT 0,
    engagements  bigint NOT NULL DEFAULT 0,
    dwell_capped bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX user_variant_daily_key ON user_variant_daily (user_id, day, variant) NULLS NOT DISTINCT;
CREATE INDEX user_variant_daily_day_idx ON user_variant_daily (day);
-- The rare rows of a variant with clicks, engagements or dwell but no impressions: experiment readouts
-- from rollups (hotpot_lib.variant_moments) look up the users these make sums for but not users of the arm.
CREATE INDEX user_variant_daily_without_impressions_idx ON user_variant_daily (day)
    WHERE impressions = 0 AND variant IS NOT NULL AND (clicks <> 0 OR engagements <> 0 OR dwell_capped <> 0);
-- The rows with a value whose products can overflow bigint (above sqrt(2^63); none in real data): the
-- variants rollup sums those users' pairs in numeric and finds them here without reading their days.
CREATE INDEX user_variant_daily_large_idx ON user_variant_daily (user_id, variant)
    WHERE greatest(impressions, clicks, engagements, dwell_capped) > 3037000499;

-- Per user: first time seen in events (cohorts).
CREATE TABLE user_first_seen (
    user_id       text        PRIMARY KEY,
    first_seen_at timestamptz NOT NULL,
    first_day     date        NOT NULL
);
CREATE INDEX user_first_seen_day_idx ON user_first_seen (first_day);

-- Per tenant-local day: users active that day, users engaged that day (any like, collect, comment,
-- share or follow) and users seen for the first time that day. Exact counts kept by the events step below,
-- so DAU is read from one row per day instead of counting users.
CREATE TABLE daily_users (
    day           date PRIMARY KEY,
    active_users  bigint NOT NULL DEFAULT 0,
    engaged_users bigint NOT NULL DEFAULT 0,
    new_users     bigint NOT NULL DEFAULT 0
);

-- Weeks (Monday start, tenant-local) in which each user had any event.
CREATE TABLE user_weeks (
    user_id text NOT NULL,
    week    date NOT NULL,
    PRIMARY KEY (user_id, week)
);

-- Weekly first-seen cohorts: users whose first week is cohort_week and who were active in week.
CREATE TABLE cohort_weeks (
    cohort_week date   NOT NULL,
    week        date   NOT NULL,
    users       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (cohort_week, week)
);

-- step: events
-- What this run changed: new active days (for audience_days), the (user, day, variant) rows it touched
-- with their values after it and before it (for the variants rollup; a row whose impressions were 0
-- before and are not now is a user newly seen in that variant that day), and users moving to another
-- first week.
CREATE TEMP TABLE rollup_new_user_days (user_id text NOT NULL, day date NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE rollup_variant_day_change (
    user_id text NOT NULL, variant text NOT NULL, day date NOT NULL,
    y1 bigint NOT NULL, c1 bigint NOT NULL, e1 bigint NOT NULL, w1 bigint NOT NULL,
    y0 bigint NOT NULL, c0 bigint NOT NULL, e0 bigint NOT NULL, w0 bigint NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE rollup_cohort_moves (user_id text NOT NULL, old_week date NOT NULL, new_week date NOT NULL) ON COMMIT DROP;

-- What this run adds per user, day and variant.
CREATE TEMP TABLE rollup_user_delta ON COMMIT DROP AS
SELECT user_id, occurred_at::date AS day, variant, count(*) AS events,
       count(*) FILTER (WHERE event_type = 'impression') AS impressions,
       count(*) FILTER (WHERE event_type = 'click') AS clicks,
       count(*) FILTER (WHERE event_type IN ('like', 'collect', 'comment', 'share', 'follow')) AS engagements,
       coalesce(sum(least(dwell_ms, hotpot_lib.default_dwell_cap_ms())) FILTER (WHERE dwell_ms IS NOT NULL), 0) AS dwell_capped
FROM rollup_source
GROUP BY 1, 2, 3;

-- Per (user, day) of this run, what the table held before it over all variants: a user-day without rows
-- is a new active user that day, one whose engagements were 0 and gets some a newly engaged one. Each
-- user-day is looked up through the key (LATERAL, OFFSET 0 against a join that would read the table).
CREATE TEMP TABLE rollup_user_day_change ON COMMIT DROP AS
SELECT d.user_id, d.day, d.engagements, b.rows_before, coalesce(b.engagements_before, 0) AS engagements_before
FROM (SELECT user_id, day, sum(engagements) AS engagements FROM rollup_user_delta GROUP BY 1, 2) AS d
CROSS JOIN LATERAL (SELECT count(*) AS rows_before, sum(x.engagements) AS engagements_before
                    FROM user_variant_daily AS x WHERE x.user_id = d.user_id AND x.day = d.day OFFSET 0) AS b;

INSERT INTO rollup_new_user_days (user_id, day)
SELECT user_id, day FROM rollup_user_day_change WHERE rows_before = 0;

INSERT INTO daily_users AS t (day, active_users, engaged_users)
SELECT day, count(*) FILTER (WHERE rows_before = 0), count(*) FILTER (WHERE engagements > 0 AND engagements_before = 0)
FROM rollup_user_day_change
GROUP BY day
ORDER BY day
ON CONFLICT (day) DO UPDATE SET
    active_users = t.active_users + excluded.active_users, engaged_users = t.engaged_users + excluded.engaged_users;

-- user_variant_daily; the rows with a variant, as they are after this statement and were before it, are
-- what the variants rollup changes its sums by (the upsert returns the rows it wrote, so nothing reads
-- the table again for them).
WITH upserted AS (
    INSERT INTO user_variant_daily AS r (user_id, day, variant, events, impressions, clicks, engagements, dwell_capped)
    SELECT user_id, day, variant, events, impressions, clicks, engagements, dwell_capped FROM rollup_user_delta
    ORDER BY 1, 2, 3
    ON CONFLICT (user_id, day, variant) DO UPDATE SET
        events = r.events + excluded.events, impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
        engagements = r.engagements + excluded.engagements, dwell_capped = r.dwell_capped + excluded.dwell_capped
    RETURNING r.user_id, r.day, r.variant, r.impressions, r.clicks, r.engagements, r.dwell_capped
)
INSERT INTO rollup_variant_day_change (user_id, variant, day, y1, c1, e1, w1, y0, c0, e0, w0)
SELECT u.user_id, u.variant, u.day, u.impressions, u.clicks, u.engagements, u.dwell_capped,
       u.impressions - d.impressions, u.clicks - d.clicks, u.engagements - d.engagements, u.dwell_capped - d.dwell_capped
FROM upserted AS u
JOIN rollup_user_delta AS d ON d.user_id = u.user_id AND d.day = u.day AND d.variant = u.variant;

-- Without statistics the planner takes the changed rows for a few and the pairs of a bulk fold (every
-- row changed) for a handful, and sorts millions of them to disk.
ANALYZE rollup_variant_day_change;

DROP TABLE rollup_user_day_change;
DROP TABLE rollup_user_delta;

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
    -- Only a user seen earlier than before is rewritten: the returning users' rows stay as they are
    -- (rewriting them all cost a second of a day's load into a large tenant) and return nothing, which
    -- `moves` would have dropped as unchanged anyway.
    ON CONFLICT (user_id) DO UPDATE SET
        first_seen_at = excluded.first_seen_at, first_day = excluded.first_seen_at::date
        WHERE excluded.first_seen_at < r.first_seen_at
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

DROP TABLE rollup_cohort_moves;
