/* ---
name: tag_model_quality
title: Tagging model coverage and precision
description: >-
  For notes published in the tenant-local days `from`..`to`, per model_version ('unknown' for
  model tags without one) and overall ('all', last): notes_published = notes published in the
  window; notes_tagged = those with at least one model tag (of that version) with confidence >=
  `min_confidence` (NULL confidence counts as 0); coverage = notes_tagged / notes_published.
  model_tags = such model tags; confirmed_tags = those for which a human tag with the same tag
  text exists on the same note; precision = confirmed_tags / model_tags. Because most notes are
  never reviewed, reviewed_model_tags counts only model tags on notes with at least one human tag
  and precision_reviewed = confirmed_tags / reviewed_model_tags. Ratios are NULL when their
  denominator is 0. With min_confidence 0 (the default) read from the tag_quality_days rollup.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  min_confidence: {type: float, default: 0.0, min: 0.0, max: 1.0}
--- */
WITH published AS (
    SELECT note_id FROM notes WHERE published_at >= :from::timestamptz AND published_at < (:to + 1)::timestamptz
), tags AS (
    SELECT t.note_id, t.tag, t.source, t.confidence, t.model_version
    FROM note_tags AS t
    JOIN notes AS n ON n.note_id = t.note_id
    WHERE n.published_at >= :from::timestamptz AND n.published_at < (:to + 1)::timestamptz
), human AS (
    SELECT note_id, tag FROM tags WHERE source = 'human'
), model AS (
    -- IN (subquery) rather than EXISTS: PostgreSQL hashes the human tags once instead of probing per row.
    SELECT m.note_id, m.tag, coalesce(m.model_version, 'unknown') AS model_version,
           (m.note_id, m.tag) IN (SELECT note_id, tag FROM human) AS confirmed,
           m.note_id IN (SELECT note_id FROM human) AS reviewed
    FROM tags AS m
    WHERE m.source = 'model' AND coalesce(m.confidence, 0) >= :min_confidence
), grouped AS (
    SELECT coalesce(model_version, 'all') AS model_version,
           count(DISTINCT note_id)::int8 AS notes_tagged,
           count(*)::int8 AS model_tags,
           count(*) FILTER (WHERE confirmed)::int8 AS confirmed_tags,
           count(*) FILTER (WHERE reviewed)::int8 AS reviewed_model_tags
    FROM model
    GROUP BY GROUPING SETS ((), (model_version))
), from_rollup AS (
    -- With the default min_confidence (every model tag), from the tag_quality_days rollup.
    SELECT coalesce(model_version, 'all') AS model_version, sum(notes_tagged)::int8 AS notes_tagged,
           sum(model_tags)::int8 AS model_tags, sum(confirmed_tags)::int8 AS confirmed_tags,
           sum(reviewed_model_tags)::int8 AS reviewed_model_tags
    FROM tag_quality_days
    WHERE :min_confidence = 0 AND day BETWEEN :from AND :to
    GROUP BY model_version
), rollup_published AS (
    SELECT coalesce(sum(notes_published), 0)::int8 AS notes_published
    FROM tag_quality_days
    WHERE :min_confidence = 0 AND day BETWEEN :from AND :to AND model_version IS NULL
), chosen AS (
    SELECT g.*, n.notes_published
    FROM grouped AS g
    CROSS JOIN (SELECT count(*)::int8 AS notes_published FROM published) AS n
    WHERE :min_confidence <> 0
    UNION ALL
    -- The all-versions row is there even when no note was published.
    SELECT coalesce(r.model_version, 'all'), r.notes_tagged, r.model_tags, r.confirmed_tags, r.reviewed_model_tags, p.notes_published
    FROM rollup_published AS p
    LEFT JOIN from_rollup AS r ON true
    WHERE :min_confidence = 0
)
SELECT g.model_version, g.notes_published, coalesce(g.notes_tagged, 0)::int8 AS notes_tagged,
       coalesce(g.notes_tagged, 0)::float8 / NULLIF(g.notes_published, 0)::float8 AS coverage,
       coalesce(g.model_tags, 0)::int8 AS model_tags,
       coalesce(g.confirmed_tags, 0)::int8 AS confirmed_tags,
       g.confirmed_tags::float8 / NULLIF(g.model_tags, 0)::float8 AS precision,
       coalesce(g.reviewed_model_tags, 0)::int8 AS reviewed_model_tags,
       g.confirmed_tags::float8 / NULLIF(g.reviewed_model_tags, 0)::float8 AS precision_reviewed
FROM chosen AS g
ORDER BY g.model_version = 'all', g.model_version
