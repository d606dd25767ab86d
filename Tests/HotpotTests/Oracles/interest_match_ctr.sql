WITH ev AS (
    SELECT e.user_id, e.event_type,
           CASE WHEN n.category IS NULL OR u.interests IS NULL OR u.interests = '{}' THEN 'unknown'
                WHEN n.category = ANY(u.interests) THEN 'matched'
                ELSE 'unmatched' END AS segment
    FROM events AS e
    JOIN users AS u ON u.user_id = e.user_id
    LEFT JOIN notes AS n ON n.note_id = e.note_id
    WHERE e.occurred_at::date BETWEEN :from AND :to
      AND e.event_type IN ('impression', 'click')
      AND e.occurred_at::date >= u.signup_at::date
      AND e.occurred_at::date < u.signup_at::date + :new_user_days::int
), seg AS (
    SELECT s.segment, s.ord,
           (SELECT count(DISTINCT user_id) FROM ev WHERE ev.segment = s.segment AND event_type = 'impression')::int8 AS users,
           (SELECT count(*) FROM ev WHERE ev.segment = s.segment AND event_type = 'impression')::int8 AS impressions,
           (SELECT count(*) FROM ev WHERE ev.segment = s.segment AND event_type = 'click')::int8 AS clicks
    FROM (VALUES ('matched', 1), ('unmatched', 2), ('unknown', 3)) AS s(segment, ord)
)
SELECT s.segment, s.users, s.impressions, s.clicks,
       s.clicks::float8 / NULLIF(s.impressions, 0)::float8 AS ctr,
       CASE WHEN s.segment = 'matched' THEN
           (s.clicks::float8 / NULLIF(s.impressions, 0)::float8) / NULLIF(u.clicks::float8 / NULLIF(u.impressions, 0)::float8, 0) - 1 END AS ctr_lift,
       CASE WHEN s.segment = 'matched' THEN hotpot_lib.two_proportion_p(u.clicks, u.impressions, s.clicks, s.impressions) END AS p_value
FROM seg AS s, seg AS u
WHERE u.segment = 'unmatched'
ORDER BY s.ord
