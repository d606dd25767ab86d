WITH cut AS (
    SELECT (ARRAY[0, 1000, 2000, 3000, 5000, 8000, 13000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000, 600000])
               [hotpot_lib.dwell_bucket(:threshold_ms::int) + 1] AS lower_ms
)
SELECT d.day,
       count(e.event_id)::int8 AS dwell_events,
       count(e.event_id) FILTER (WHERE e.dwell_ms >= c.lower_ms)::int8 AS long_reads,
       (count(e.event_id) FILTER (WHERE e.dwell_ms >= c.lower_ms))::float8 / NULLIF(count(e.event_id), 0)::float8 AS long_read_rate,
       c.lower_ms::int8 AS effective_threshold_ms
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
CROSS JOIN cut AS c
LEFT JOIN events AS e
    ON e.occurred_at::date = d.day AND e.dwell_ms IS NOT NULL
   AND (:note_type IS NULL OR e.note_id IN (SELECT note_id FROM notes WHERE note_type = :note_type))
GROUP BY d.day, c.lower_ms
ORDER BY d.day
