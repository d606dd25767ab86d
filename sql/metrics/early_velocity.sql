/* ---
name: early_velocity
title: Early velocity of new notes
description: >-
  For each note published in the tenant-local days `from`..`to`: impressions and clicks in its
  first 1, 6 and 24 hours. "First N hours" means the N whole UTC clock hours starting with the
  hour in which the note was published (the granularity of the hourly rollup), so the first hour
  can hold up to one hour of events. ctr_24h = clicks_24h / impressions_24h, NULL without
  impressions. Notes without events are listed with zeros. Newest notes first (ties by note_id),
  at most `limit` rows.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  limit: {type: int, default: 500, min: 1, max: 10000}
--- */
WITH published AS (
    SELECT note_id, title, author_id, note_type, published_at,
           date_trunc('hour', published_at, 'UTC') AS first_hour
    FROM notes
    WHERE published_at >= :from::timestamptz AND published_at < (:to + 1)::timestamptz
    ORDER BY published_at DESC, note_id
    LIMIT :limit
), early AS (
    SELECT p.note_id,
           coalesce(sum(h.impressions) FILTER (WHERE h.hour < p.first_hour + interval '1 hour'), 0)::int8 AS impressions_1h,
           coalesce(sum(h.clicks) FILTER (WHERE h.hour < p.first_hour + interval '1 hour'), 0)::int8 AS clicks_1h,
           coalesce(sum(h.impressions) FILTER (WHERE h.hour < p.first_hour + interval '6 hours'), 0)::int8 AS impressions_6h,
           coalesce(sum(h.clicks) FILTER (WHERE h.hour < p.first_hour + interval '6 hours'), 0)::int8 AS clicks_6h,
           coalesce(sum(h.impressions), 0)::int8 AS impressions_24h,
           coalesce(sum(h.clicks), 0)::int8 AS clicks_24h
    FROM published AS p
    LEFT JOIN note_hourly AS h
        ON h.note_id = p.note_id AND h.hour >= p.first_hour AND h.hour < p.first_hour + interval '24 hours'
    GROUP BY p.note_id
)
SELECT p.note_id, p.title, p.author_id, p.note_type, p.published_at,
       e.impressions_1h, e.clicks_1h, e.impressions_6h, e.clicks_6h, e.impressions_24h, e.clicks_24h,
       e.clicks_24h::float8 / NULLIF(e.impressions_24h, 0)::float8 AS ctr_24h
FROM published AS p
JOIN early AS e ON e.note_id = p.note_id
ORDER BY p.published_at DESC, p.note_id
