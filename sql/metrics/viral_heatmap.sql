/* ---
name: viral_heatmap
title: When viral notes were published
description: >-
  Count of viral notes by tenant-local publish weekday and hour: a note is viral when its
  interactions (likes + collects + comments + shares) in the tenant-local days `from`..`to`
  reached at least `threshold`; it is placed by notes.published_at in the tenant's time zone.
  Always 168 rows: weekday 1 = Monday .. 7 = Sunday (ISO), hour 0..23, viral_notes 0 where none.
  Notes missing from the notes table are not counted.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  threshold: {type: int, default: 1000, min: 1}
--- */
WITH viral AS (
    SELECT note_id
    FROM hotpot_lib.note_window(:from, :to)
    WHERE likes + collects + comments + shares >= :threshold
), placed AS (
    SELECT extract(isodow FROM n.published_at)::int AS weekday, extract(hour FROM n.published_at)::int AS hour
    FROM viral AS v
    JOIN notes AS n ON n.note_id = v.note_id
)
SELECT w.weekday, h.hour, count(p.weekday)::int8 AS viral_notes
FROM generate_series(1, 7) AS w(weekday)
CROSS JOIN generate_series(0, 23) AS h(hour)
LEFT JOIN placed AS p ON p.weekday = w.weekday AND p.hour = h.hour
GROUP BY w.weekday, h.hour
ORDER BY w.weekday, h.hour
