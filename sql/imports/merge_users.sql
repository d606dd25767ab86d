-- Users are upserts keyed by user_id; the last row in the file wins. Returns (loaded, duplicate).
WITH latest AS (
    SELECT DISTINCT ON (user_id) * FROM import_users ORDER BY user_id, line DESC
), upserted AS (
    INSERT INTO users AS u (user_id, signup_at, gender, age_band, city, interests, followers, import_id, updated_at)
    SELECT user_id, signup_at, gender, age_band, city, interests, followers, $1, now() FROM latest
    ON CONFLICT (user_id) DO UPDATE SET
        signup_at = excluded.signup_at, gender = excluded.gender, age_band = excluded.age_band,
        city = excluded.city, interests = excluded.interests, followers = excluded.followers,
        import_id = excluded.import_id, updated_at = now()
    RETURNING 1
)
SELECT (SELECT count(*) FROM upserted)::int8, ((SELECT count(*) FROM import_users) - (SELECT count(*) FROM upserted))::int8
