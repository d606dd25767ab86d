-- Users and notes imports change rows of new_user_segment_days (sql/tenant/0011_new_user_segments.sql) for
-- the users listed in rollup_segment_users (by sql/rollups/users_before.sql or notes_before.sql, which
-- analyze it so these statements are planned for its size). This script runs before those changes and
-- new_user_segments_after.sql after them: the users' rows count out of new_user_segment_totals and
-- new_user_segment_users as they were and back in as they are, and those rollups take the difference.

-- The listed users' rows, each with the user's previous day with impressions in the segment.
CREATE TEMP VIEW rollup_segment_rows AS
SELECT d.signup_day, d.segment, d.day, d.impressions, d.clicks,
       max(d.day) FILTER (WHERE d.impressions > 0)
           OVER (PARTITION BY d.user_id, d.segment ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_day
FROM rollup_segment_users AS s
JOIN new_user_segment_days AS d ON d.user_id = s.user_id;

CREATE TEMP TABLE rollup_segment_change ON COMMIT DROP AS
SELECT signup_day, segment, day, prev_day, impressions, clicks, -1 AS sign FROM rollup_segment_rows;
