SELECT n.note_id, n.title, n.author_id, n.note_type, n.published_at,
       count(e.event_id) FILTER (WHERE e.event_type = 'impression' AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '1 hour')::int8 AS impressions_1h,
       count(e.event_id) FILTER (WHERE e.event_type = 'click' AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '1 hour')::int8 AS clicks_1h,
       count(e.event_id) FILTER (WHERE e.event_type = 'impression' AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '6 hours')::int8 AS impressions_6h,
       count(e.event_id) FILTER (WHERE e.event_type = 'click' AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '6 hours')::int8 AS clicks_6h,
       count(e.event_id) FILTER (WHERE e.event_type = 'impression')::int8 AS impressions_24h,
       count(e.event_id) FILTER (WHERE e.event_type = 'click')::int8 AS clicks_24h,
       (count(e.event_id) FILTER (WHERE e.event_type = 'click'))::float8
           / NULLIF(count(e.event_id) FILTER (WHERE e.event_type = 'impression'), 0)::float8 AS ctr_24h
FROM notes AS n
LEFT JOIN events AS e
    ON e.note_id = n.note_id
   AND e.occurred_at >= date_trunc('hour', n.published_at, 'UTC')
   AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + interval '24 hours'
WHERE n.published_at::date BETWEEN :from AND :to
GROUP BY n.note_id
ORDER BY n.published_at DESC, n.note_id
LIMIT :limit
