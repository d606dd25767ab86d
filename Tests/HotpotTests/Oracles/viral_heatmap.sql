WITH viral AS (
    SELECT n.note_id, to_char(n.published_at, 'ID')::int AS weekday, to_char(n.published_at, 'HH24')::int AS hour
    FROM notes AS n
    WHERE (SELECT count(*) FROM events AS e
           WHERE e.note_id = n.note_id AND e.event_type IN ('like', 'collect', 'comment', 'share')
             AND e.occurred_at::date BETWEEN :from AND :to) >= :threshold
)
SELECT w.weekday, h.hour,
       (SELECT count(*) FROM viral AS v WHERE v.weekday = w.weekday AND v.hour = h.hour)::int8 AS viral_notes
FROM generate_series(1, 7) AS w(weekday), generate_series(0, 23) AS h(hour)
ORDER BY w.weekday, h.hour
