-- Model-tag quality by day of publication (tenant-local), for tag_model_quality with its default
-- min_confidence (0: every model tag). Per (day, model_version): the notes published that day with
-- model tags of that version, those tags, the ones a human gave too (confirmed), and the ones on notes a
-- human tagged at all (reviewed). The row with model_version NULL covers all versions and also counts
-- every note published that day (notes_published). It depends on notes (publication day) and note_tags
-- only: notes and note_tags imports recount the notes they touch (the steps
-- below); events do not change it, and a rebuild counts every note.
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

-- step: notes.before
-- Notes that are new or published at another time count again.
CREATE TEMP TABLE rollup_tag_quality_notes ON COMMIT DROP AS
SELECT note_id FROM rollup_published_notes;

-- step: note_tags.before
-- The notes whose tags this file touches count again.
CREATE TEMP TABLE rollup_tag_quality_notes ON COMMIT DROP AS
SELECT DISTINCT note_id FROM import_note_tags;

-- step: rebuild
-- Every note counts.
CREATE TEMP TABLE rollup_tag_quality_notes ON COMMIT DROP AS
SELECT note_id FROM notes;

-- step: notes.before note_tags.before rebuild
-- The listed notes count out as they were (before the merge) and back in as they are (after it); a
-- rebuild, on empty tables, only counts them in.
ANALYZE rollup_tag_quality_notes;

-- What the listed notes add to tag_quality_days.
CREATE TEMP VIEW rollup_tag_quality_rows AS
WITH per_version AS (
    SELECT t.note_id, coalesce(t.model_version, 'unknown') AS model_version, count(*) AS model_tags,
           count(*) FILTER (WHERE h.note_id IS NOT NULL) AS confirmed_tags,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM note_tags AS r WHERE r.note_id = t.note_id AND r.source = 'human')) AS reviewed_model_tags
    FROM rollup_tag_quality_notes AS s
    JOIN note_tags AS t ON t.note_id = s.note_id
    LEFT JOIN note_tags AS h ON h.note_id = t.note_id AND h.tag = t.tag AND h.source = 'human'
    WHERE t.source = 'model'
    GROUP BY 1, 2
)
SELECT n.published_at::date AS day, v.model_version, 0 AS notes_published, 1 AS notes_tagged,
       v.model_tags, v.confirmed_tags, v.reviewed_model_tags
FROM per_version AS v
JOIN notes AS n ON n.note_id = v.note_id
UNION ALL
SELECT n.published_at::date, NULL, 1, (count(v.note_id) > 0)::int, coalesce(sum(v.model_tags), 0),
       coalesce(sum(v.confirmed_tags), 0), coalesce(sum(v.reviewed_model_tags), 0)
FROM rollup_tag_quality_notes AS s
JOIN notes AS n ON n.note_id = s.note_id
LEFT JOIN per_version AS v ON v.note_id = n.note_id
GROUP BY n.note_id, n.published_at;

-- step: notes.before note_tags.before
CREATE TEMP TABLE rollup_tag_quality_change ON COMMIT DROP AS
SELECT r.*, -1 AS sign FROM rollup_tag_quality_rows AS r;

-- step: rebuild
CREATE TEMP TABLE rollup_tag_quality_change ON COMMIT DROP AS
SELECT r.*, -1 AS sign FROM rollup_tag_quality_rows AS r WHERE false;

-- step: notes.after note_tags.after rebuild
INSERT INTO rollup_tag_quality_change
SELECT r.*, 1 FROM rollup_tag_quality_rows AS r;

INSERT INTO tag_quality_days AS q (day, model_version, notes_published, notes_tagged, model_tags, confirmed_tags, reviewed_model_tags)
SELECT day, model_version, sum(sign * notes_published), sum(sign * notes_tagged), sum(sign * model_tags),
       sum(sign * confirmed_tags), sum(sign * reviewed_model_tags)
FROM rollup_tag_quality_change
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (day, model_version) DO UPDATE SET
    notes_published = q.notes_published + excluded.notes_published, notes_tagged = q.notes_tagged + excluded.notes_tagged,
    model_tags = q.model_tags + excluded.model_tags, confirmed_tags = q.confirmed_tags + excluded.confirmed_tags,
    reviewed_model_tags = q.reviewed_model_tags + excluded.reviewed_model_tags;

DELETE FROM tag_quality_days
WHERE notes_published = 0 AND notes_tagged = 0 AND model_tags = 0 AND confirmed_tags = 0 AND reviewed_model_tags = 0;

DROP VIEW rollup_tag_quality_rows;
DROP TABLE rollup_tag_quality_notes, rollup_tag_quality_change;
