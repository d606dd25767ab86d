-- Run by a users import before its merge (sql/imports/merge_users.sql), with the same "last row per
-- user wins" rule: every user whose gender, age band or city changes takes all their active days (with
-- their previous active days, see audience_days) from the old values to the new ones.
CREATE TEMP TABLE rollup_latest_users ON COMMIT DROP AS
SELECT DISTINCT ON (user_id) * FROM import_users ORDER BY user_id, line DESC;

WITH changed AS (
    SELECT l.user_id, coalesce(l.gender, 'unknown') AS gender, coalesce(l.age_band, 'unknown') AS age_band,
           coalesce(l.city, 'unknown') AS city, coalesce(u.gender, 'unknown') AS old_gender, coalesce(u.age_band, 'unknown') AS old_age_band,
           coalesce(u.city, 'unknown') AS old_city
    FROM rollup_latest_users AS l
    LEFT JOIN users AS u ON u.user_id = l.user_id
), pairs AS (
    SELECT c.*, d.day, lag(d.day) OVER (PARTITION BY d.user_id ORDER BY d.day) AS prev_day
    FROM changed AS c
    JOIN user_daily AS d ON d.user_id = c.user_id
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

-- Users whose sign-up day or interests change, and who have events, are recomputed from their events in
-- the new-user segment rollups after the merge (sql/rollups/users_after.sql, between the two halves of
-- sql/rollups/new_user_segments_*.sql).
CREATE TEMP TABLE rollup_segment_users ON COMMIT DROP AS
SELECT l.user_id
FROM rollup_latest_users AS l
LEFT JOIN users AS u ON u.user_id = l.user_id
WHERE (l.signup_at::date, l.interests) IS DISTINCT FROM (u.signup_at::date, u.interests)
  AND coalesce(l.signup_at, u.signup_at) IS NOT NULL
  AND EXISTS (SELECT 1 FROM user_daily AS d WHERE d.user_id = l.user_id);

ANALYZE rollup_segment_users;
