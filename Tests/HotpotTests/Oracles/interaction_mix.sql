WITH types(ord, interaction_type) AS (
    VALUES (1, 'like'), (2, 'collect'), (3, 'comment'), (4, 'share'), (5, 'follow')
), counts AS (
    SELECT ty.ord, ty.interaction_type, count(e.event_id)::int8 AS events
    FROM types AS ty
    LEFT JOIN events AS e
        ON e.event_type = ty.interaction_type AND e.occurred_at::date BETWEEN :from AND :to
       AND (:surface IS NULL OR e.surface = :surface)
    GROUP BY ty.ord, ty.interaction_type
)
SELECT interaction_type, events, events::float8 / NULLIF(sum(events) OVER (), 0)::float8 AS share
FROM counts
ORDER BY ord
