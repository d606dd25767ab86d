-- Model-tag quality by day of publication (tenant-local), for tag_model_quality with its default
-- min_confidence (0: every model tag). Per (day, model_version): the notes published that day with
-- model tags of that version, those tags, the ones a human gave too (confirmed), and the ones on notes a
-- human tagged at all (reviewed). The row with model_version NULL covers all versions and also counts
-- every note published that day (notes_published). It depends on notes (publication day) and note_tags
-- only: notes and note_tags imports recount the notes they touch
-- (sql/rollups/tag_quality_before.sql and tag_quality_after.sql); events do not change it.
CREATE TABLE tag_quality_days (
    day                 date   NOT NULL,
    model_version       text,
    notes_published     bigint NOT NULL DEFAULT 0,
    notes_tagged        bigint NOT NULL DEFAULT 0,
    model_tags          bigint NOT NULL DEFAULT 0,
    confirmed_tags      bigint NOT NULL DEFAULT 0,
    reviewed_model_tags bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tag_quality_days_key ON tag_quality_days (day, model_version) NULLS NOT DISTINCT;

WITH per_version AS (
    SELECT t.note_id, coalesce(t.model_version, 'unknown') AS model_version, count(*) AS model_tags,
           count(*) FILTER (WHERE h.note_id IS NOT NULL) AS confirmed_tags,
           count(*) FILTER (WHERE t.note_id IN (SELECT note_id FROM note_tags WHERE source = 'human')) AS reviewed_model_tags
    FROM note_tags AS t
    LEFT JOIN note_tags AS h ON h.note_id = t.note_id AND h.tag = t.tag AND h.source = 'human'
    WHERE t.source = 'model'
    GROUP BY 1, 2
)
INSERT INTO tag_quality_days (day, model_version, notes_published, notes_tagged, model_tags, confirmed_tags, reviewed_model_tags)
SELECT n.published_at::date, v.model_version, 0, count(*), sum(v.model_tags), sum(v.confirmed_tags), sum(v.reviewed_model_tags)
FROM per_version AS v
JOIN notes AS n ON n.note_id = v.note_id
GROUP BY 1, 2
UNION ALL
SELECT n.published_at::date, NULL, count(*), count(*) FILTER (WHERE v.model_tags > 0),
       coalesce(sum(v.model_tags), 0), coalesce(sum(v.confirmed_tags), 0), coalesce(sum(v.reviewed_model_tags), 0)
FROM notes AS n
LEFT JOIN (SELECT note_id, sum(model_tags) AS model_tags, sum(confirmed_tags) AS confirmed_tags,
                  sum(reviewed_model_tags) AS reviewed_model_tags
           FROM per_version GROUP BY note_id) AS v ON v.note_id = n.note_id
GROUP BY 1;

ANALYZE tag_quality_days;
