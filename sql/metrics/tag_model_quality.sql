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
  denominator is 0.
params:
  from: {type: date, default: -30d}
  to: {type: date, default: today}
  min_confidence: {type: float, default: 0.0, min: 0.0, max: 1.0}
--- */
WITH published AS (
    SELECT note_id FROM notes WHERE published_at >= :from::timestamptz AND published_at < (:to + 1)::timestamptz
), pairs AS (
    -- One row per (note, tag) of the published notes: its model tag (if any, with the model version)
    -- and whether a human gave the same tag.
    SELECT t.note_id, t.tag,
           bool_or(t.source = 'model' AND coalesce(t.confidence, 0) >= :min_confidence) AS model_tagged,
           min(coalesce(t.model_version, 'unknown')) FILTER (WHERE t.source = 'model') AS model_version,
           bool_or(t.source = 'human') AS confirmed
    FROM note_tags AS t
    JOIN published AS p ON p.note_id = t.note_id
    GROUP BY t.note_id, t.tag
), reviewed_notes AS (
    SELECT note_id FROM pairs GROUP BY note_id HAVING bool_or(confirmed)
), model AS (
    SELECT x.note_id, x.tag, x.model_version, x.confirmed, r.note_id IS NOT NULL AS reviewed
    FROM pairs AS x
    LEFT JOIN reviewed_notes AS r ON r.note_id = x.note_id
    WHERE x.model_tagged
), grouped AS (
    SELECT coalesce(model_version, 'all') AS model_version,
           count(DISTINCT note_id)::int8 AS notes_tagged,
           count(*)::int8 AS model_tags,
           count(*) FILTER (WHERE confirmed)::int8 AS confirmed_tags,
           count(*) FILTER (WHERE reviewed)::int8 AS reviewed_model_tags
    FROM model
    GROUP BY GROUPING SETS ((), (model_version))
)
SELECT g.model_version, n.notes_published, coalesce(g.notes_tagged, 0)::int8 AS notes_tagged,
       coalesce(g.notes_tagged, 0)::float8 / NULLIF(n.notes_published, 0)::float8 AS coverage,
       coalesce(g.model_tags, 0)::int8 AS model_tags,
       coalesce(g.confirmed_tags, 0)::int8 AS confirmed_tags,
       g.confirmed_tags::float8 / NULLIF(g.model_tags, 0)::float8 AS precision,
       coalesce(g.reviewed_model_tags, 0)::int8 AS reviewed_model_tags,
       g.confirmed_tags::float8 / NULLIF(g.reviewed_model_tags, 0)::float8 AS precision_reviewed
FROM grouped AS g
CROSS JOIN (SELECT count(*)::int8 AS notes_published FROM published) AS n
ORDER BY g.model_version = 'all', g.model_version
