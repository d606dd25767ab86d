WITH reach AS (
    SELECT n.note_id, count(e.event_id) AS impressions
    FROM notes AS n
    LEFT JOIN events AS e
        ON e.note_id = n.note_id AND e.event_type = 'impression'
       AND e.occurred_at::date >= n.published_at::date AND e.occurred_at::date <= :to
    WHERE n.published_at::date BETWEEN :from AND :to
    GROUP BY n.note_id
), tiers(tier, min_impressions) AS (
    VALUES (0, 0::int8), (1, :tier1), (2, :tier2), (3, :tier3), (4, :tier4)
), counts AS (
    SELECT t.tier, t.min_impressions,
           (SELECT count(*) FROM reach AS r WHERE r.impressions >= t.min_impressions)::int8 AS notes
    FROM tiers AS t
)
SELECT c.tier, c.min_impressions, c.notes,
       c.notes::float8 / NULLIF((SELECT notes FROM counts WHERE tier = 0), 0)::float8 AS share_of_published,
       CASE WHEN c.tier > 0 THEN c.notes::float8 / NULLIF((SELECT notes FROM counts AS p WHERE p.tier = c.tier - 1), 0)::float8 END AS promotion_rate
FROM counts AS c
ORDER BY c.tier
