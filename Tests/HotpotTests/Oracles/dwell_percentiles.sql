WITH dwell AS (
    SELECT coalesce(n.note_type, 'unknown') AS note_type, hotpot_lib.dwell_bucket(e.dwell_ms) AS bucket
    FROM events AS e
    LEFT JOIN notes AS n ON n.note_id = e.note_id
    WHERE e.dwell_ms IS NOT NULL AND e.occurred_at::date BETWEEN :from AND :to
), labelled AS (
    SELECT note_type, bucket FROM dwell
    UNION ALL
    SELECT 'all', bucket FROM dwell
), ranked AS (
    SELECT note_type, bucket,
           row_number() OVER (PARTITION BY note_type ORDER BY bucket) AS rn,
           count(*) OVER (PARTITION BY note_type) AS total
    FROM labelled
)
SELECT note_type, max(total)::int8 AS dwell_events,
       hotpot_lib.dwell_bucket_upper_ms(min(bucket) FILTER (WHERE rn >= 0.25 * total))::int8 AS p25_ms,
       hotpot_lib.dwell_bucket_upper_ms(min(bucket) FILTER (WHERE rn >= 0.50 * total))::int8 AS p50_ms,
       hotpot_lib.dwell_bucket_upper_ms(min(bucket) FILTER (WHERE rn >= 0.75 * total))::int8 AS p75_ms,
       hotpot_lib.dwell_bucket_upper_ms(min(bucket) FILTER (WHERE rn >= 0.90 * total))::int8 AS p90_ms
FROM ranked
GROUP BY note_type
ORDER BY note_type = 'all', note_type
