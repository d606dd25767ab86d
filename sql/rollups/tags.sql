-- Per tag and tenant-local day: the counts of the notes carrying the tag, with tags counted the way the
-- built-in tag metrics count them by default: a human or creator tag, or a model tag with confidence at
-- least 0.5 (the view tag_daily_members, sql/tenant/0008_tag_daily.sql). Those metrics read this table
-- when called with their default tag filter and fall back to joining note_tags with note_daily otherwise.
--
-- It depends on note_tags too: events add to the note's tags as they are then, and a note_tags import
-- adds or removes a note's whole history for every (note, tag) whose membership it changes
-- (the note_tags steps below), so the order in which files arrive cannot change it.
CREATE TABLE tag_daily (
    tag         text   NOT NULL,
    day         date   NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tag, day)
);
CREATE INDEX tag_daily_day_idx ON tag_daily (day);

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

-- step: events
-- tag_daily, under the note's tags as they are now (see above).
INSERT INTO tag_daily AS r (tag, day, impressions, clicks, likes, collects, comments, shares, follows)
SELECT t.tag, e.day, sum(e.impressions), sum(e.clicks), sum(e.likes), sum(e.collects), sum(e.comments),
       sum(e.shares), sum(e.follows)
FROM rollup_note_day_delta AS e
JOIN tag_daily_members AS t
    ON t.note_id = e.note_id
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (tag, day) DO UPDATE SET
    impressions = r.impressions + excluded.impressions, clicks = r.clicks + excluded.clicks,
    likes = r.likes + excluded.likes, collects = r.collects + excluded.collects,
    comments = r.comments + excluded.comments, shares = r.shares + excluded.shares,
    follows = r.follows + excluded.follows;

-- tag_note_days: the (day, previous active day) pairs of each note that this run's new active days
-- change, worked out as for variant_user_days (variants.sql), under the note's tags as they are now.
WITH firsts AS (
    SELECT f.note_id, f.m,
           (SELECT max(p.day) FROM note_daily AS p WHERE p.note_id = f.note_id AND p.day < f.m) AS prior
    FROM (SELECT note_id, min(day) AS m FROM rollup_new_note_days GROUP BY 1) AS f
), tail AS (
    SELECT f.note_id, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM note_daily AS x WHERE x.note_id = f.note_id AND x.day >= f.m OFFSET 0) AS r
    LEFT JOIN rollup_new_note_days AS n ON n.note_id = f.note_id AND n.day = r.day
), pairs AS (
    SELECT note_id, day, coalesce(lag(day) OVER (PARTITION BY note_id ORDER BY day), prior) AS prev_day, 1 AS change
    FROM tail
    UNION ALL
    SELECT note_id, day, coalesce(lag(day) OVER (PARTITION BY note_id ORDER BY day), prior), -1
    FROM tail
    WHERE NOT added
), net AS (
    SELECT note_id, day, prev_day, sum(change) AS change FROM pairs GROUP BY 1, 2, 3 HAVING sum(change) <> 0
)
INSERT INTO tag_note_days AS g (tag, day, prev_day, notes)
SELECT t.tag, n.day, n.prev_day, sum(n.change)
FROM net AS n
JOIN tag_daily_members AS t ON t.note_id = n.note_id
GROUP BY 1, 2, 3
HAVING sum(n.change) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (tag, day, prev_day) DO UPDATE SET notes = g.notes + excluded.notes;

DELETE FROM tag_note_days WHERE notes = 0;

-- step: note_tags.before
-- Whether each (note, tag) the file touches counts for tag_daily now; the after step compares.
CREATE TEMP TABLE rollup_tag_members ON COMMIT DROP AS
SELECT p.note_id, p.tag,
       EXISTS (SELECT 1 FROM tag_daily_members AS t WHERE t.note_id = p.note_id AND t.tag = p.tag) AS member
FROM (SELECT DISTINCT note_id, tag FROM import_note_tags) AS p;

-- step: note_tags.after
-- A (note, tag) that starts counting for tag_daily and tag_note_days adds the note's whole history to
-- the tag, one that stops counting takes it away.
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

DROP TABLE rollup_tag_members, rollup_tag_changes;
