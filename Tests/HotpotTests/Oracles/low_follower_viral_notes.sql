SELECT n.note_id, n.title, n.author_id, u.followers::int8 AS author_followers, n.note_type, n.published_at,
       x.impressions, x.clicks, x.clicks::float8 / NULLIF(x.impressions, 0)::float8 AS ctr, x.interactions
FROM notes AS n
JOIN users AS u ON u.user_id = n.author_id
JOIN LATERAL (
    SELECT count(*) FILTER (WHERE e.event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE e.event_type = 'click')::int8 AS clicks,
           count(*) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share'))::int8 AS interactions
    FROM events AS e
    WHERE e.note_id = n.note_id AND e.occurred_at::date BETWEEN :from AND :to
) AS x ON true
WHERE u.followers < :max_followers AND x.interactions >= :threshold
ORDER BY x.interactions DESC, n.note_id
LIMIT :limit
