WITH per_tag AS (
    SELECT t.tag, count(DISTINCT e.note_id)::int8 AS notes,
           count(*) FILTER (WHERE e.event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE e.event_type = 'click')::int8 AS clicks,
           count(*) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share'))::int8 AS interactions
    FROM (SELECT DISTINCT note_id, tag FROM note_tags
          WHERE (:sources IS NULL OR source = ANY(:sources))
            AND (source <> 'model' OR coalesce(confidence, 0) >= :min_confidence)) AS t
    JOIN events AS e ON e.note_id = t.note_id AND e.occurred_at::date BETWEEN :from AND :to
    GROUP BY t.tag
)
SELECT tag, notes, impressions, clicks, interactions,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       interactions::float8 / NULLIF(impressions, 0)::float8 AS engagement_rate
FROM per_tag
ORDER BY impressions DESC, tag
LIMIT :limit
