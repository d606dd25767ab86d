-- Run by a note_tags import after its merge: a (note, tag) that starts counting for tag_daily and
-- tag_note_days adds the note's whole history to the tag, one that stops counting takes it away.
CREATE TEMP TABLE rollup_tag_changes ON COMMIT DROP AS
SELECT m.note_id, m.tag, CASE WHEN m.member THEN -1 ELSE 1 END AS sign
FROM rollup_tag_members AS m
WHERE m.member <> EXISTS (SELECT 1 FROM tag_daily_members AS t WHERE t.note_id = m.note_id AND t.tag = m.tag);

INSERT INTO tag_daily AS r (tag, day, impressions, clicks, likes, collects, comments, shares, follows)
SELECT c.tag, d.day, sum(c.sign * d.impressions), sum(c.sign * d.clicks), sum(c.sign * d.likes),
       sum(c.sign * d.collects), sum(c.sign * d.comments), sum(c.sign * d.shares), sum(c.sign * d.follows)
FROM rollup_tag_changes AS c
JOIN note_daily AS d ON d.note_id = c.note_id
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (tag, day) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows;

DELETE FROM tag_daily
WHERE impressions = 0 AND clicks = 0 AND likes = 0 AND collects = 0 AND comments = 0 AND shares = 0 AND follows = 0;

INSERT INTO tag_note_days AS g (tag, day, prev_day, notes)
SELECT c.tag, p.day, p.prev_day, sum(c.sign)
FROM rollup_tag_changes AS c
JOIN (SELECT d.note_id, d.day, lag(d.day) OVER (PARTITION BY d.note_id ORDER BY d.day) AS prev_day
      FROM note_daily AS d
      WHERE d.note_id IN (SELECT note_id FROM rollup_tag_changes)) AS p ON p.note_id = c.note_id
GROUP BY 1, 2, 3
HAVING sum(c.sign) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (tag, day, prev_day) DO UPDATE SET notes = g.notes + excluded.notes;

DELETE FROM tag_note_days WHERE notes = 0;

DROP TABLE rollup_tag_members, rollup_tag_changes
