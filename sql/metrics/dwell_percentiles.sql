/* ---
name: dwell_percentiles
title: Dwell-time percentiles by note type
description: >-
  Dwell-time percentiles (p25, p50, p75, p90) of events carrying a dwell time in the tenant-local
  days `from`..`to`, read from the dwell histogram: each percentile is reported as the upper bound
  in milliseconds of the histogram bucket it falls in (bounds 1, 2, 3, 5, 8, 13, 20, 30, 45, 60,
  90, 120, 180, 300, 600 s), i.e. the smallest bound B such that at least that fraction of dwell
  events were shorter than B; NULL when it falls in the open last bucket (10 min or more) or there
  are no dwell events. One row per note_type ('unknown' for a NULL type or a note missing from the
  notes table), then 'all'. dwell_events = number of events with a dwell time.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
--- */
WITH hist AS (
    SELECT note_type, bucket, sum(events) AS events
    FROM dwell_type_daily
    WHERE day BETWEEN :from AND :to
    GROUP BY 1, 2
), grouped AS (
    SELECT note_type, bucket, events FROM hist
    UNION ALL
    SELECT 'all', bucket, sum(events) FROM hist GROUP BY bucket
), cumulative AS (
    SELECT note_type, bucket,
           sum(events) OVER (PARTITION BY note_type ORDER BY bucket) AS cum,
           sum(events) OVER (PARTITION BY note_type) AS total
    FROM grouped
), pct AS (
    SELECT note_type, max(total)::int8 AS dwell_events,
           min(bucket) FILTER (WHERE cum >= 0.25 * total) AS b25,
           min(bucket) FILTER (WHERE cum >= 0.50 * total) AS b50,
           min(bucket) FILTER (WHERE cum >= 0.75 * total) AS b75,
           min(bucket) FILTER (WHERE cum >= 0.90 * total) AS b90
    FROM cumulative
    GROUP BY note_type
)
SELECT note_type, dwell_events,
       hotpot_lib.dwell_bucket_upper_ms(b25)::int8 AS p25_ms,
       hotpot_lib.dwell_bucket_upper_ms(b50)::int8 AS p50_ms,
       hotpot_lib.dwell_bucket_upper_ms(b75)::int8 AS p75_ms,
       hotpot_lib.dwell_bucket_upper_ms(b90)::int8 AS p90_ms
FROM pct
ORDER BY note_type = 'all', note_type
