/* ---
name: long_read_rate
title: Long-read rate by day
description: >-
  Per tenant-local day from `from` to `to` (every day listed): dwell_events = events carrying a
  dwell time, long_reads = those with a dwell of at least the threshold, and long_read_rate =
  long_reads / dwell_events (NULL on days without dwell events). Computed from the dwell
  histogram, so `threshold_ms` is rounded DOWN to the lower bound of the histogram bucket that
  contains it (bounds 0, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, 120, 180, 300, 600 s); the bound
  actually used is reported as effective_threshold_ms (the default 30000 is exact). With
  `note_type`, only notes of that type.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  threshold_ms: {type: int, default: 30000, min: 0, max: 2000000000}
  note_type: {type: text, optional: true, allowed: [image, video]}
--- */
WITH cut AS (
    SELECT hotpot_lib.dwell_bucket(:threshold_ms::int) AS bucket
), per_day AS (
    SELECT h.day, sum(h.events) AS dwell_events,
           sum(h.events) FILTER (WHERE h.bucket >= c.bucket) AS long_reads
    FROM dwell_type_daily AS h, cut AS c
    WHERE h.day BETWEEN :from AND :to
      AND (:note_type IS NULL OR h.note_type = :note_type)
    GROUP BY h.day
)
SELECT d.day,
       coalesce(p.dwell_events, 0)::int8 AS dwell_events,
       coalesce(p.long_reads, 0)::int8 AS long_reads,
       coalesce(p.long_reads, 0)::float8 / NULLIF(p.dwell_events, 0)::float8 AS long_read_rate,
       coalesce(hotpot_lib.dwell_bucket_upper_ms((c.bucket - 1)::smallint), 0)::int8 AS effective_threshold_ms
FROM (SELECT :from + g.i AS day FROM generate_series(0, :to - :from) AS g(i)) AS d
CROSS JOIN cut AS c
LEFT JOIN per_day AS p ON p.day = d.day
ORDER BY d.day
