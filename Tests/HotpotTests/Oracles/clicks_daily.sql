SELECT d.day, count(e.event_id)::int8 AS clicks
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
LEFT JOIN events AS e
    ON e.occurred_at::date = d.day AND e.event_type = 'click'
   AND (:surface IS NULL OR e.surface = :surface)
GROUP BY d.day
ORDER BY d.day
