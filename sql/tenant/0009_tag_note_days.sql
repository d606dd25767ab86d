-- Notes active (with any event) per tag, by day and by the note's previous active day, read the way
-- variant_user_days is: distinct active notes per tag over any range, for tag_leaderboard. Tags count as
-- in tag_daily (tag_daily_members), and like tag_daily this moves with note_tags imports.
CREATE TABLE tag_note_days (
    tag      text   NOT NULL,
    day      date   NOT NULL,
    prev_day date,
    notes    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX tag_note_days_key ON tag_note_days (tag, day, prev_day) NULLS NOT DISTINCT;

INSERT INTO tag_note_days (tag, day, prev_day, notes)
SELECT t.tag, p.day, p.prev_day, count(*)
FROM (SELECT note_id, day, lag(day) OVER (PARTITION BY note_id ORDER BY day) AS prev_day FROM note_daily) AS p
JOIN tag_daily_members AS t ON t.note_id = p.note_id
GROUP BY 1, 2, 3;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE tag_note_days;
