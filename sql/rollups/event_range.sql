-- The tenant's first and last event times: one row, absent until the first event. Kept by
-- the events step below. hot_notes reads it to skip looking for events after as_of when there are none.
CREATE TABLE event_range (
    only_row    boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    first_event timestamptz NOT NULL,
    last_event  timestamptz NOT NULL
);

-- step: events
INSERT INTO event_range AS r (first_event, last_event)
SELECT min(occurred_at), max(occurred_at) FROM rollup_source HAVING min(occurred_at) IS NOT NULL
ON CONFLICT (only_row) DO UPDATE SET
    first_event = least(r.first_event, excluded.first_event), last_event = greatest(r.last_event, excluded.last_event);
