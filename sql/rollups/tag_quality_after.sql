-- Second half of sql/rollups/tag_quality_before.sql (see there).
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
