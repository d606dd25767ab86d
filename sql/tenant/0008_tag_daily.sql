-- Per tag and tenant-local day: the counts of the notes carrying the tag, with tags counted the way the
-- built-in tag metrics count them by default: a human or creator tag, or a model tag with confidence at
-- least 0.5 (the view tag_daily_members below). Those metrics read this table when called with their default
-- tag filter and fall back to joining note_tags with note_daily otherwise.
--
-- It depends on note_tags too: events add to the note's tags as they are then, and a note_tags import
-- adds or removes a note's whole history for every (note, tag) whose membership it changes
-- (sql/rollups/note_tags_*.sql), so the order in which files arrive cannot change it.
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

-- The (note, tag) pairs tag_daily counts: the one place that says which tags count. Tenants may read it;
-- the metrics test their own parameters against the same default.
CREATE VIEW tag_daily_members AS
SELECT DISTINCT note_id, tag FROM note_tags WHERE source <> 'model' OR coalesce(confidence, 0) >= 0.5;

INSERT INTO tag_daily (tag, day, impressions, clicks, likes, collects, comments, shares, follows)
SELECT t.tag, d.day, sum(d.impressions), sum(d.clicks), sum(d.likes), sum(d.collects), sum(d.comments),
       sum(d.shares), sum(d.follows)
FROM tag_daily_members AS t
JOIN note_daily AS d ON d.note_id = t.note_id
GROUP BY 1, 2;

-- Statistics now, so the first queries after the backfill are planned on them.
ANALYZE tag_daily;
