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
SELECT d.day,
       coalesce(u.active_users, 0)::int8 AS active_users,
       coalesce(u.new_users, 0)::int8 AS new_users,
       coalesce(u.engaged_users, 0)::int8 AS engaged_users
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN daily_users AS u ON u.day = d.day
ORDER BY d.day
