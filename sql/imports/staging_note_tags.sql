-- Staging table for one import, typed like the contract; rows arrive by COPY already validated, with
-- the source line number. Dropped at commit or rollback.
CREATE TEMP TABLE import_note_tags (
    note_id text, tag text, source text, confidence real, model_version text, line bigint
) ON COMMIT DROP
