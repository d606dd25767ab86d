/* ---
name: dau
title: Daily active users
description: >-
  Per tenant-local day from `from` to `to` (every day listed): active_users = distinct users with
  at least one event of any type that day; new_users = active users whose first event ever was on
  that day; engaged_users = distinct users with at least one like, collect, comment, share or
  follow that day.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
--- */
WITH a AS (
    SELECT day, count(*) AS active_users, count(*) FILTER (WHERE engagements > 0) AS engaged_users
    FROM user_daily
    WHERE day BETWEEN :from AND :to
    GROUP BY day
), n AS (
    SELECT first_day AS day, count(*) AS new_users
    FROM user_first_seen
    WHERE first_day BETWEEN :from AND :to
    GROUP BY first_day
)
SELECT d.day,
       coalesce(a.active_users, 0)::int8 AS active_users,
       coalesce(n.new_users, 0)::int8 AS new_users,
       coalesce(a.engaged_users, 0)::int8 AS engaged_users
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN a ON a.day = d.day
LEFT JOIN n ON n.day = d.day
ORDER BY d.day
