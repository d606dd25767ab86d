-- Staging table for one import, typed like the contract; rows arrive by COPY already validated, with
-- the source line number. Dropped at commit or rollback.
CREATE TEMP TABLE import_events (
    event_id text, occurred_at timestamptz, user_id text, note_id text, event_type text,
    dwell_ms integer, surface text, variant text, line bigint
) ON COMMIT DROP
