SELECT d.day,
       count(DISTINCT e.user_id)::int8 AS active_users,
       (SELECT count(*) FROM (SELECT user_id FROM events GROUP BY user_id HAVING min(occurred_at)::date = d.day) AS f)::int8 AS new_users,
       count(DISTINCT e.user_id) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share', 'follow'))::int8 AS engaged_users
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN events AS e ON e.occurred_at::date = d.day
GROUP BY d.day
ORDER BY d.day
