WITH per_note AS (
    SELECT note_id,
           count(*) FILTER (WHERE event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE event_type = 'click')::int8 AS clicks,
           count(*) FILTER (WHERE event_type IN ('like', 'collect', 'comment', 'share'))::int8 AS interactions,
           count(*) FILTER (WHERE event_type = 'like')::int8 AS likes,
           count(*) FILTER (WHERE event_type = 'collect')::int8 AS collects,
           count(*) FILTER (WHERE event_type = 'comment')::int8 AS comments,
           count(*) FILTER (WHERE event_type = 'share')::int8 AS shares
    FROM events
    WHERE occurred_at::date BETWEEN :from AND :to
    GROUP BY note_id
)
SELECT p.note_id, n.title, n.author_id, n.note_type, n.published_at,
       p.impressions, p.clicks, p.clicks::float8 / NULLIF(p.impressions, 0)::float8 AS ctr,
       p.interactions, p.likes, p.collects, p.comments, p.shares
FROM per_note AS p
LEFT JOIN notes AS n ON n.note_id = p.note_id
WHERE p.interactions >= :threshold
ORDER BY p.interactions DESC, p.note_id
LIMIT :limit
