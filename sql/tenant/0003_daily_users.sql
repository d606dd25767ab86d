-- Per tenant-local day: users active that day, users engaged that day (any like, collect, comment,
-- share or follow) and users seen for the first time that day. Exact counts kept incrementally by
-- sql/rollups/apply.sql from the user_daily and user_first_seen upserts, so DAU is read from one row
-- per day instead of counting user_daily. Filled here from those rollups for existing tenants.
CREATE TABLE daily_users (
    day           date PRIMARY KEY,
    active_users  bigint NOT NULL DEFAULT 0,
    engaged_users bigint NOT NULL DEFAULT 0,
    new_users     bigint NOT NULL DEFAULT 0
);

INSERT INTO daily_users (day, active_users, engaged_users, new_users)
SELECT coalesce(a.day, n.day), coalesce(a.active_users, 0), coalesce(a.engaged_users, 0), coalesce(n.new_users, 0)
FROM (SELECT day, count(*) AS active_users, count(*) FILTER (WHERE engagements > 0) AS engaged_users
      FROM user_daily GROUP BY day) AS a
FULL JOIN (SELECT first_day AS day, count(*) AS new_users FROM user_first_seen GROUP BY first_day) AS n ON n.day = a.day;
