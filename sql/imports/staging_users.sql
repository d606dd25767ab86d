-- Staging table for one import, typed like the contract; rows arrive by COPY already validated, with
-- the source line number. Dropped at commit or rollback.
CREATE TEMP TABLE import_users (
    user_id text, signup_at timestamptz, gender text, age_band text, city text, interests text[],
    followers integer, line bigint
) ON COMMIT DROP
