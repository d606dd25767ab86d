WITH per_note AS (
    SELECT note_id,
           count(*) FILTER (WHERE event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE event_type = 'click')::int8 AS clicks,
           count(*) FILTER (WHERE event_type = 'like')::int8 AS likes,
           count(*) FILTER (WHERE event_type = 'collect')::int8 AS collects,
           count(*) FILTER (WHERE event_type = 'comment')::int8 AS comments,
           count(*) FILTER (WHERE event_type = 'share')::int8 AS shares,
           count(*) FILTER (WHERE event_type = 'follow')::int8 AS follows
    FROM events
    WHERE occurred_at::date BETWEEN :from AND :to
    GROUP BY note_id
)
SELECT p.note_id, n.title, n.author_id, n.note_type,
       p.impressions, p.clicks, p.likes, p.collects, p.comments, p.shares, p.follows,
       (:w_like * p.likes + :w_collect * p.collects + :w_comment * p.comments + :w_share * p.shares + :w_follow * p.follows)::float8 AS ces,
       1000 * (:w_like * p.likes + :w_collect * p.collects + :w_comment * p.comments + :w_share * p.shares + :w_follow * p.follows)::float8
           / NULLIF(p.impressions, 0)::float8 AS ces_per_1k_impressions
FROM per_note AS p
LEFT JOIN notes AS n ON n.note_id = p.note_id
ORDER BY 12 DESC, p.note_id
LIMIT :limit
