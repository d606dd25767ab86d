-- Run by a users import after its merge: the users listed by sql/rollups/users_before.sql get their
-- new_user_segment_days rows again from their events, under their new sign-up day and interests.
DELETE FROM new_user_segment_days WHERE user_id IN (SELECT user_id FROM rollup_segment_users);

-- Each user's events in their first 90 days, through events_user_time_idx.
INSERT INTO new_user_segment_days (user_id, segment, day, signup_day, impressions, clicks)
SELECT u.user_id, hotpot_lib.interest_segment(n.category, u.interests), e.occurred_at::date, u.signup_at::date,
       count(*) FILTER (WHERE e.event_type = 'impression'), count(*) FILTER (WHERE e.event_type = 'click')
FROM rollup_segment_users AS s
JOIN users AS u ON u.user_id = s.user_id
CROSS JOIN LATERAL (SELECT x.note_id, x.occurred_at, x.event_type FROM events AS x
                    WHERE x.user_id = u.user_id
                      AND x.occurred_at >= u.signup_at::date::timestamptz
                      AND x.occurred_at < (u.signup_at::date + 90)::timestamptz
                      AND x.event_type IN ('impression', 'click')
                    OFFSET 0) AS e
LEFT JOIN notes AS n ON n.note_id = e.note_id
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3;

DROP TABLE rollup_latest_users;
