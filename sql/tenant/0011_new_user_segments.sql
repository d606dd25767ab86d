-- Impressions and clicks of new users, by how the note's category relates to the user's sign-up
-- interests (hotpot_lib.interest_segment), for interest_match_ctr. "New" covers the sign-up day and the
-- 89 days after it (tenant-local), the metric's longest new-user period; users without signup_at have
-- none. Segments follow the users and notes tables as they are now: a users import that changes a
-- user's sign-up day or interests, or a notes import that changes a note's category, recomputes the
-- users concerned from their events (sql/rollups/new_user_segments.sql), which the index below finds.
-- Events import add to these rollups in sql/rollups/apply.sql.

CREATE INDEX events_user_time_idx ON events (user_id, occurred_at);

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
-- the segment (NULL: none before), as variant_user_days (0004). Distinct users of a sign-up day over
-- [a, b] = sum(users) over its rows with day in [a, b] and prev_day before a (or NULL).
CREATE TABLE new_user_segment_users (
    signup_day date   NOT NULL,
    segment    text   NOT NULL,
    day        date   NOT NULL,
    prev_day   date,
    users      bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX new_user_segment_users_key ON new_user_segment_users (signup_day, segment, day, prev_day) NULLS NOT DISTINCT;

INSERT INTO new_user_segment_days (user_id, segment, day, signup_day, impressions, clicks)
SELECT e.user_id, hotpot_lib.interest_segment(n.category, u.interests), e.occurred_at::date, u.signup_at::date,
       count(*) FILTER (WHERE e.event_type = 'impression'), count(*) FILTER (WHERE e.event_type = 'click')
FROM events AS e
JOIN users AS u ON u.user_id = e.user_id
LEFT JOIN notes AS n ON n.note_id = e.note_id
WHERE e.event_type IN ('impression', 'click')
  AND e.occurred_at::date - u.signup_at::date BETWEEN 0 AND 89
GROUP BY 1, 2, 3, 4;

INSERT INTO new_user_segment_totals (signup_day, day, segment, impressions, clicks)
SELECT signup_day, day, segment, sum(impressions), sum(clicks)
FROM new_user_segment_days
GROUP BY 1, 2, 3;

INSERT INTO new_user_segment_users (signup_day, segment, day, prev_day, users)
SELECT signup_day, segment, day, prev_day, count(*)
FROM (SELECT signup_day, segment, day, lag(day) OVER (PARTITION BY user_id, segment ORDER BY day) AS prev_day
      FROM new_user_segment_days
      WHERE impressions > 0) AS s
GROUP BY 1, 2, 3, 4;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE new_user_segment_days, new_user_segment_totals, new_user_segment_users;
