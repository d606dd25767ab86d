-- Second half of sql/rollups/new_user_segments_before.sql (see there).
INSERT INTO rollup_segment_change
SELECT signup_day, segment, day, prev_day, impressions, clicks, 1 FROM rollup_segment_rows;

INSERT INTO new_user_segment_totals AS t (signup_day, day, segment, impressions, clicks)
SELECT signup_day, day, segment, sum(sign * impressions), sum(sign * clicks)
FROM rollup_segment_change
GROUP BY 1, 2, 3
HAVING sum(sign * impressions) <> 0 OR sum(sign * clicks) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (signup_day, day, segment) DO UPDATE SET
    impressions = t.impressions + excluded.impressions, clicks = t.clicks + excluded.clicks;

DELETE FROM new_user_segment_totals WHERE impressions = 0 AND clicks = 0;

INSERT INTO new_user_segment_users AS g (signup_day, segment, day, prev_day, users)
SELECT signup_day, segment, day, prev_day, sum(sign)
FROM rollup_segment_change
WHERE impressions > 0
GROUP BY 1, 2, 3, 4
HAVING sum(sign) <> 0
ORDER BY 1, 2, 3, 4
ON CONFLICT (signup_day, segment, day, prev_day) DO UPDATE SET users = g.users + excluded.users;

DELETE FROM new_user_segment_users WHERE users = 0;

DROP VIEW rollup_segment_rows;
DROP TABLE rollup_segment_users, rollup_segment_change;
