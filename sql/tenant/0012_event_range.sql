-- The tenant's first and last event times: one row, absent until the first event. Kept by
-- sql/rollups/apply.sql. hot_notes reads it to skip looking for events after as_of when there are none.
CREATE TABLE event_range (
    only_row    boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    first_event timestamptz NOT NULL,
    last_event  timestamptz NOT NULL
);

INSERT INTO event_range (first_event, last_event)
SELECT min(occurred_at), max(occurred_at) FROM events HAVING min(occurred_at) IS NOT NULL;
