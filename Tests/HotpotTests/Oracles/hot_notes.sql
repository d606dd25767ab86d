WITH candidates AS (
    SELECT n.note_id, n.title, n.author_id, n.note_type, n.published_at,
           extract(epoch FROM coalesce(:as_of, now()) - n.published_at)::float8 / 3600 AS age_hours
    FROM notes AS n
    WHERE n.published_at > coalesce(:as_of, now()) - :max_age_days * interval '1 day'
      AND n.published_at <= coalesce(:as_of, now())
), counts AS (
    SELECT c.note_id,
           count(e.event_id) FILTER (WHERE e.event_type = 'impression')::int8 AS impressions,
           count(e.event_id) FILTER (WHERE e.event_type = 'click')::int8 AS clicks,
           count(e.event_id) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share'))::int8 AS interactions,
           count(e.event_id) FILTER (WHERE e.event_type = 'like')::int8 AS likes,
           count(e.event_id) FILTER (WHERE e.event_type = 'collect')::int8 AS collects,
           count(e.event_id) FILTER (WHERE e.event_type = 'comment')::int8 AS comments,
           count(e.event_id) FILTER (WHERE e.event_type = 'share')::int8 AS shares,
           count(e.event_id) FILTER (WHERE e.event_type = 'follow')::int8 AS follows
    FROM candidates AS c
    LEFT JOIN events AS e
        ON e.note_id = c.note_id
       AND e.occurred_at >= date_trunc('hour', c.published_at, 'UTC')
       AND date_trunc('hour', e.occurred_at, 'UTC') <= coalesce(:as_of, now())
    GROUP BY c.note_id
), scored AS (
    SELECT c.*, k.impressions, k.clicks, k.interactions,
           (:w_like * k.likes + :w_collect * k.collects + :w_comment * k.comments + :w_share * k.shares + :w_follow * k.follows)::float8 AS ces
    FROM candidates AS c JOIN counts AS k USING (note_id)
)
SELECT note_id, title, author_id, note_type, published_at, age_hours, impressions, clicks, interactions, ces,
       ces / power(greatest(age_hours, 0) + 2, :gravity) AS hot_score,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       hotpot_lib.wilson_lower(clicks, impressions) AS ctr_wilson_lower,
       1000 * ces / NULLIF(clicks, 0)::float8 AS ces_per_1k_clicks
FROM scored
ORDER BY hot_score DESC, note_id
LIMIT :limit
