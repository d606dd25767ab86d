-- Staging table for one import, typed like the contract; rows arrive by COPY already validated, with
-- the source line number. Dropped at commit or rollback.
CREATE TEMP TABLE import_notes (
    note_id text, author_id text, title text, note_type text, published_at timestamptz,
    category text, is_commercial boolean, line bigint
) ON COMMIT DROP
