WITH per_note AS (
    SELECT n.note_id, n.author_id,
           count(e.event_id) FILTER (WHERE e.event_type = 'impression') AS impressions,
           count(e.event_id) FILTER (WHERE e.event_type = 'click') AS clicks,
           count(e.event_id) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share')) AS interactions,
           count(e.event_id) FILTER (WHERE e.event_type = 'like') AS likes
    FROM notes AS n
    LEFT JOIN events AS e ON e.note_id = n.note_id AND e.occurred_at::date <= :to
    WHERE n.published_at::date BETWEEN :from AND :to
    GROUP BY n.note_id, n.author_id
)
SELECT p.author_id, (SELECT followers FROM users WHERE user_id = p.author_id)::int8 AS followers,
       count(*)::int8 AS notes, sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks,
       sum(interactions)::int8 AS interactions,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY clicks::float8) AS median_clicks,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY interactions::float8) AS median_interactions,
       count(*) FILTER (WHERE likes >= :like_threshold)::int8 AS hit_notes,
       (count(*) FILTER (WHERE likes >= :like_threshold))::float8 / count(*)::float8 AS hit_rate
FROM per_note AS p
GROUP BY p.author_id
HAVING count(*) >= :min_notes
ORDER BY sum(interactions) DESC, p.author_id
LIMIT :limit
