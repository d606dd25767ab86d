WITH early AS (
    SELECT n.note_id, coalesce(n.note_type, 'unknown') AS note_type,
           date_trunc('hour', n.published_at, 'UTC') + :hours * interval '1 hour' <= coalesce(:as_of, now()) AS evaluated,
           count(e.event_id) FILTER (WHERE e.event_type = 'impression') AS impressions,
           count(e.event_id) FILTER (WHERE e.event_type = 'click') AS clicks,
           count(e.event_id) FILTER (WHERE e.event_type IN ('like', 'collect', 'comment', 'share')) AS interactions
    FROM notes AS n
    LEFT JOIN events AS e
        ON e.note_id = n.note_id
       AND e.occurred_at >= date_trunc('hour', n.published_at, 'UTC')
       AND e.occurred_at < date_trunc('hour', n.published_at, 'UTC') + :hours * interval '1 hour'
    WHERE n.published_at::date BETWEEN :from AND :to
    GROUP BY n.note_id, n.note_type, n.published_at
), judged AS (
    SELECT note_type, evaluated,
           evaluated AND impressions > 0 AND clicks::float8 / impressions::float8 >= :min_ctr AS pass_ctr,
           evaluated AND impressions > 0 AND interactions::float8 / impressions::float8 >= :min_engagement_rate AS pass_engagement
    FROM early
), per_type AS (
    SELECT note_type, count(*)::int8 AS notes_published,
           count(*) FILTER (WHERE evaluated)::int8 AS notes_evaluated,
           count(*) FILTER (WHERE pass_ctr)::int8 AS notes_passed_ctr,
           count(*) FILTER (WHERE pass_engagement)::int8 AS notes_passed_engagement,
           count(*) FILTER (WHERE pass_ctr AND pass_engagement)::int8 AS notes_passed
    FROM judged GROUP BY note_type
    UNION ALL
    SELECT 'all', count(*), count(*) FILTER (WHERE evaluated), count(*) FILTER (WHERE pass_ctr),
           count(*) FILTER (WHERE pass_engagement), count(*) FILTER (WHERE pass_ctr AND pass_engagement)
    FROM judged
)
SELECT note_type, notes_published, notes_evaluated, notes_passed_ctr, notes_passed_engagement, notes_passed,
       notes_passed::float8 / NULLIF(notes_evaluated, 0)::float8 AS pass_rate
FROM per_type
ORDER BY note_type <> 'all', note_type
