-- Keeps only the first line (by line number) of every event_id the file holds more than once: the later
-- lines are duplicates within the file and are not stored. $1 lists the lines whose event_id the
-- importer's filter may have seen on an earlier line (Sources/HotpotCore/Import/EventFileFacts.swift):
-- every repeat is among them, with a few first occurrences. NULL means every line is a candidate.
-- Two reads of the staged rows, where sorting all of them by event_id took most of a large import.
-- A candidate whose id is stored already needs nothing here: the insert drops every line of that id.
-- In a re-sent file that is every candidate, and the second read then stops at once.
WITH candidate AS MATERIALIZED (
    SELECT s.ctid AS row_address, s.event_id, s.line
    FROM import_events AS s
    WHERE ($1::int8[] IS NULL OR s.line = ANY ($1::int8[]))
      AND NOT EXISTS (SELECT 1 FROM event_ids AS k WHERE k.event_id = s.event_id)
), first_line AS (
    SELECT s.event_id, min(s.line) AS line
    FROM import_events AS s
    WHERE s.event_id IN (SELECT event_id FROM candidate)
    GROUP BY s.event_id
)
-- By row address: the repeats are fetched where they lie, not found by a third read.
DELETE FROM import_events
WHERE ctid = ANY (ARRAY(
    SELECT c.row_address FROM candidate AS c JOIN first_line AS f ON f.event_id = c.event_id AND c.line > f.line
))
