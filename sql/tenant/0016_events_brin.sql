-- Events are stored in the order of their file (sql/imports/insert_events.sql), so occurred_at and
-- import_id grow with the heap: block-range (BRIN) indexes find a time window or a load's events in a
-- few kilobytes, where B-trees cost a random index write per event (at 10M events in one import,
-- storing the events took 150 s with the four B-trees against 34 s with these two, in one run).
-- The rollups answer every built-in metric; nothing looks events up by note or by user any more: the
-- new-user segment steps that recompute a note's or a user's events scan events with a hash on the
-- few changed notes or users (sql/rollups/new_user_segments.sql).
DROP INDEX events_note_time_idx, events_user_time_idx, events_time_idx, events_import_idx;
CREATE INDEX events_time_brin ON events USING brin (occurred_at);
CREATE INDEX events_import_brin ON events USING brin (import_id);

-- event_ids in key order: a B-tree filled in order is written once, page by page, and stays compact
-- (the events themselves now arrive in file order).
CREATE OR REPLACE FUNCTION events_register_ids() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO event_ids (event_id) SELECT event_id FROM inserted_events ORDER BY event_id;
    RETURN NULL;
END
$$;
