-- Users active in a date range, broken down by each user attribute the audience portrait reports, read
-- the way variant_user_days is (see there): per attribute value, day and the user's previous active day.
-- Unlike the other rollups this one depends on the users table too: events add days under the user's
-- attributes as they are then ('unknown' for a missing attribute or user), and a users import moves the
-- days of every user whose attributes it changes (sql/rollups/users_before.sql), so the order in
-- which files arrive still cannot change it.
CREATE TABLE audience_days (
    attribute text   NOT NULL CHECK (attribute IN ('gender', 'age_band', 'city')),
    value     text   NOT NULL,
    day       date   NOT NULL,
    prev_day  date,
    users     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX audience_days_key ON audience_days (attribute, value, day, prev_day) NULLS NOT DISTINCT;

INSERT INTO audience_days (attribute, value, day, prev_day, users)
SELECT v.attribute, v.value, p.day, p.prev_day, count(*)
FROM (SELECT user_id, day, lag(day) OVER (PARTITION BY user_id ORDER BY day) AS prev_day FROM user_daily) AS p
LEFT JOIN users AS u ON u.user_id = p.user_id
CROSS JOIN LATERAL (VALUES ('gender', coalesce(u.gender, 'unknown')), ('age_band', coalesce(u.age_band, 'unknown')),
                           ('city', coalesce(u.city, 'unknown'))) AS v(attribute, value)
GROUP BY 1, 2, 3, 4;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE audience_days;
