-- Run by a note_tags import before its merge: whether each (note, tag) the file touches counts for
-- tag_daily now. sql/rollups/note_tags_after.sql compares after the merge.
CREATE TEMP TABLE rollup_tag_members ON COMMIT DROP AS
SELECT p.note_id, p.tag,
       EXISTS (SELECT 1 FROM tag_daily_members AS t WHERE t.note_id = p.note_id AND t.tag = p.tag) AS member
FROM (SELECT DISTINCT note_id, tag FROM import_note_tags) AS p;

-- The notes whose tags this file touches count again in tag_quality_days (sql/rollups/tag_quality_before.sql).
CREATE TEMP TABLE rollup_tag_quality_notes ON COMMIT DROP AS
SELECT DISTINCT note_id FROM import_note_tags;

ANALYZE rollup_tag_quality_notes;
