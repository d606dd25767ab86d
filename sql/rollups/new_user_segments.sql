-- Impressions and clicks of new users, by how the note's category relates to the user's sign-up
-- interests (hotpot_lib.interest_segment), for interest_match_ctr. "New" covers the sign-up day and the
-- 89 days after it (tenant-local), the metric's longest new-user period; users without signup_at have
-- none. Segments follow the users and notes tables as they are now: a users import that changes a
-- user's sign-up day or interests, or a notes import that changes a note's category, recomputes the
-- users concerned from their events (the steps below): a scan of events with a hash on the changed notes
-- or users, paid only by the notes and users imports that change categories, sign-up days or interests.

-- Per user, segment and day: the basis of the two rollups below. signup_day is the user's, kept here so
-- a recomputation can take a user's rows out of the rollups without the user's old values.
CREATE TABLE new_user_segment_days (
    user_id     text   NOT NULL,
    segment     text   NOT NULL,
    day         date   NOT NULL,
    signup_day  date   NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, segment, day)
);

-- Totals per sign-up day, day and segment.
CREATE TABLE new_user_segment_totals (
    signup_day  date   NOT NULL,
    day         date   NOT NULL,
    segment     text   NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (signup_day, day, segment)
);

-- Users with impressions in a segment by sign-up day, day and the user's previous day with impressions in
-- the segment (NULL: none before), as variant_user_days (variants.sql). Distinct users of a sign-up day over
-- [a, b] = sum(users) over its rows with day in [a, b] and prev_day before a (or NULL).
CREATE TABLE new_user_segment_users (
    signup_day date   NOT NULL,
    segment    text   NOT NULL,
    day        date   NOT NULL,
    prev_day   date,
    users      bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX new_user_segment_users_key ON new_user_segment_users (signup_day, segment, day, prev_day) NULLS NOT DISTINCT;

-- step: events
CREATE TEMP TABLE rollup_new_segment_days (user_id text NOT NULL, segment text NOT NULL, day date NOT NULL, signup_day date NOT NULL) ON COMMIT DROP;

-- new_user_segment_days and new_user_segment_totals: impressions and clicks in the user's first 90 days,
-- by segment under the user and note as they are now (see above); a (user, segment, day) row whose
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

DROP TABLE rollup_new_segment_days;

-- step: notes.before
-- Notes whose category changes move their events between new-user segments: the moves per user and day,
-- applied by the notes.after step between the count-out and count-in steps.
CREATE TEMP TABLE rollup_recategorized_notes ON COMMIT DROP AS
SELECT l.note_id, n.category AS old_category, l.category AS new_category
FROM rollup_latest_notes AS l
LEFT JOIN notes AS n ON n.note_id = l.note_id
WHERE l.category IS DISTINCT FROM n.category;

-- Planned for its size: the hash side of the scan of events below (none when no category changed).
ANALYZE rollup_recategorized_notes;

CREATE TEMP TABLE rollup_segment_moves ON COMMIT DROP AS
SELECT e.user_id, e.occurred_at::date AS day, u.signup_at::date AS signup_day,
       hotpot_lib.interest_segment(c.old_category, u.interests) AS old_segment,
       hotpot_lib.interest_segment(c.new_category, u.interests) AS new_segment,
       count(*) FILTER (WHERE e.event_type = 'impression') AS impressions,
       count(*) FILTER (WHERE e.event_type = 'click') AS clicks
FROM rollup_recategorized_notes AS c
JOIN events AS e ON e.note_id = c.note_id
JOIN users AS u ON u.user_id = e.user_id
WHERE e.event_type IN ('impression', 'click')
  AND e.occurred_at::date - u.signup_at::date BETWEEN 0 AND 89
  AND hotpot_lib.interest_segment(c.old_category, u.interests) <> hotpot_lib.interest_segment(c.new_category, u.interests)
GROUP BY 1, 2, 3, 4, 5;

DROP TABLE rollup_recategorized_notes;

CREATE TEMP TABLE rollup_segment_users ON COMMIT DROP AS
SELECT DISTINCT user_id FROM rollup_segment_moves;

ANALYZE rollup_segment_moves, rollup_segment_users;

-- step: users.before
-- Users whose sign-up day or interests change, and who have events, are recomputed from their events
-- after the merge (users.after).
CREATE TEMP TABLE rollup_segment_users ON COMMIT DROP AS
SELECT l.user_id
FROM rollup_latest_users AS l
LEFT JOIN users AS u ON u.user_id = l.user_id
WHERE (l.signup_at::date, l.interests) IS DISTINCT FROM (u.signup_at::date, u.interests)
  AND coalesce(l.signup_at, u.signup_at) IS NOT NULL
  AND EXISTS (SELECT 1 FROM user_variant_daily AS d WHERE d.user_id = l.user_id);

ANALYZE rollup_segment_users;

-- step: notes.before users.before
-- Count-out: users and notes imports change rows of new_user_segment_days for the users listed in
-- rollup_segment_users (by the steps above, which analyze it so these statements are planned for its
-- size). This runs before those changes and the count-in step after them: the users' rows count out
-- of new_user_segment_totals and new_user_segment_users as they were and back in as they are, and
-- those rollups take the difference.

-- The listed users' rows, each with the user's previous day with impressions in the segment.
CREATE TEMP VIEW rollup_segment_rows AS
SELECT d.signup_day, d.segment, d.day, d.impressions, d.clicks,
       max(d.day) FILTER (WHERE d.impressions > 0)
           OVER (PARTITION BY d.user_id, d.segment ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_day
FROM rollup_segment_users AS s
JOIN new_user_segment_days AS d ON d.user_id = s.user_id;

CREATE TEMP TABLE rollup_segment_change ON COMMIT DROP AS
SELECT signup_day, segment, day, prev_day, impressions, clicks, -1 AS sign FROM rollup_segment_rows;

-- step: notes.after
-- new_user_segment_days: events of notes with another category move to their new segment.
INSERT INTO new_user_segment_days AS r (user_id, segment, day, signup_day, impressions, clicks)
SELECT m.user_id, v.segment, m.day, m.signup_day, sum(v.sign * m.impressions), sum(v.sign * m.clicks)
FROM rollup_segment_moves AS m
CROSS JOIN LATERAL (VALUES (m.old_segment, -1), (m.new_segment, 1)) AS v(segment, sign)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3
ON CONFLICT (user_id, segment, day) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks;

DELETE FROM new_user_segment_days AS d
USING (SELECT DISTINCT user_id, old_segment, day FROM rollup_segment_moves) AS m
WHERE d.user_id = m.user_id AND d.segment = m.old_segment AND d.day = m.day AND d.impressions = 0 AND d.clicks = 0;

DROP TABLE rollup_segment_moves;

-- step: users.after
-- The users listed before get their new_user_segment_days rows again from their events, under their
-- new sign-up day and interests.
DELETE FROM new_user_segment_days WHERE user_id IN (SELECT user_id FROM rollup_segment_users);

-- Each user's events in their first 90 days.
INSERT INTO new_user_segment_days (user_id, segment, day, signup_day, impressions, clicks)
SELECT u.user_id, hotpot_lib.interest_segment(n.category, u.interests), e.occurred_at::date, u.signup_at::date,
       count(*) FILTER (WHERE e.event_type = 'impression'), count(*) FILTER (WHERE e.event_type = 'click')
FROM rollup_segment_users AS s
JOIN users AS u ON u.user_id = s.user_id
JOIN events AS e ON e.user_id = u.user_id
LEFT JOIN notes AS n ON n.note_id = e.note_id
WHERE e.event_type IN ('impression', 'click')
  AND e.occurred_at >= u.signup_at::date::timestamptz
  AND e.occurred_at < (u.signup_at::date + 90)::timestamptz
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3;

-- step: notes.after users.after
-- Count-in (see the count-out step).
INSERT INTO rollup_segment_change
SELECT signup_day, segment, day, prev_day, impressions, clicks, 1 FROM rollup_segment_rows;

INSERT INTO new_user_segment_totals AS t (signup_day, day, segment, impressions, clicks)
SELECT signup_day, day, segment, sum(sign * impressions), sum(sign * clicks)
FROM rollup_segment_change
GROUP BY 1, 2, 3
HAVING sum(sign * impressions) <> 0 OR sum(sign * clicks) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (signup_day, day, segment) DO UPDATE SET
    impressions = t.impressions + excluded.impressions, clicks = t.clicks + excluded.clicks;

DELETE FROM new_user_segment_totals WHERE impressions = 0 AND clicks = 0;

INSERT INTO new_user_segment_users AS g (signup_day, segment, day, prev_day, users)
SELECT signup_day, segment, day, prev_day, sum(sign)
FROM rollup_segment_change
WHERE impressions > 0
GROUP BY 1, 2, 3, 4
HAVING sum(sign) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (signup_day, segment, day, prev_day) DO UPDATE SET users = g.users + excluded.users;

DELETE FROM new_user_segment_users WHERE users = 0;

DROP VIEW rollup_segment_rows;
DROP TABLE rollup_segment_users, rollup_segment_change;
