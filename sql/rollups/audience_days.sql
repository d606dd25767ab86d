-- Users active in a date range, broken down by each user attribute the audience portrait reports, read
-- the way variant_user_days is (sql/rollups/variants.sql): per attribute value, day and the user's previous active day.
-- Unlike the other rollups this one depends on the users table too: events add days under the user's
-- attributes as they are then ('unknown' for a missing attribute or user), and a users import moves the
-- days of every user whose attributes it changes (the users.before step below), so the order in
-- which files arrive still cannot change it.
CREATE TABLE audience_days (
    attribute text   NOT NULL CHECK (attribute IN ('gender', 'age_band', 'city')),
    value     text   NOT NULL,
    day       date   NOT NULL,
    prev_day  date,
    users     bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX audience_days_key ON audience_days (attribute, value, day, prev_day) NULLS NOT DISTINCT;

-- step: events
-- audience_days: the (day, previous active day) pairs of each user that this run's new active days
-- change, worked out as for variant_user_days (variants.sql), under the user's attributes as they are now.
WITH firsts AS (
    SELECT f.user_id, f.m,
           (SELECT max(p.day) FROM user_variant_daily AS p WHERE p.user_id = f.user_id AND p.day < f.m) AS prior
    FROM (SELECT user_id, min(day) AS m FROM rollup_new_user_days GROUP BY 1) AS f
), tail AS (
    SELECT f.user_id, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT DISTINCT x.day FROM user_variant_daily AS x WHERE x.user_id = f.user_id AND x.day >= f.m OFFSET 0) AS r
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

-- step: users.before
-- Every user whose gender, age band or city changes takes all their active days (with their previous
-- active days) from the old values to the new ones.
WITH changed AS (
    SELECT l.user_id, coalesce(l.gender, 'unknown') AS gender, coalesce(l.age_band, 'unknown') AS age_band,
           coalesce(l.city, 'unknown') AS city, coalesce(u.gender, 'unknown') AS old_gender, coalesce(u.age_band, 'unknown') AS old_age_band,
           coalesce(u.city, 'unknown') AS old_city
    FROM rollup_latest_users AS l
    LEFT JOIN users AS u ON u.user_id = l.user_id
), pairs AS (
    SELECT c.*, d.day, lag(d.day) OVER (PARTITION BY d.user_id ORDER BY d.day) AS prev_day
    FROM changed AS c
    -- Each user's active days through the key (LATERAL, OFFSET 0: the staged file has no statistics).
    CROSS JOIN LATERAL (SELECT DISTINCT x.user_id, x.day FROM user_variant_daily AS x WHERE x.user_id = c.user_id OFFSET 0) AS d
    WHERE (c.gender, c.age_band, c.city) IS DISTINCT FROM (c.old_gender, c.old_age_band, c.old_city)
)
INSERT INTO audience_days AS a (attribute, value, day, prev_day, users)
SELECT v.attribute, v.value, p.day, p.prev_day, sum(v.change)
FROM pairs AS p
CROSS JOIN LATERAL (VALUES ('gender', p.old_gender, -1), ('gender', p.gender, 1),
                           ('age_band', p.old_age_band, -1), ('age_band', p.age_band, 1),
                           ('city', p.old_city, -1), ('city', p.city, 1)) AS v(attribute, value, change)
GROUP BY 1, 2, 3, 4
HAVING sum(v.change) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (attribute, value, day, prev_day) DO UPDATE SET users = a.users + excluded.users;

DELETE FROM audience_days WHERE users = 0;
