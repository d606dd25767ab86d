WITH agg AS (
    SELECT count(*) FILTER (WHERE cur AND event_type = 'impression')::int8 AS impressions,
           count(*) FILTER (WHERE cur AND event_type = 'click')::int8 AS clicks,
           count(*) FILTER (WHERE cur AND event_type = 'like')::int8 AS likes,
           count(*) FILTER (WHERE cur AND event_type = 'collect')::int8 AS collects,
           count(*) FILTER (WHERE cur AND event_type = 'comment')::int8 AS comments,
           count(*) FILTER (WHERE cur AND event_type = 'share')::int8 AS shares,
           count(*) FILTER (WHERE cur AND event_type = 'follow')::int8 AS follows,
           count(*) FILTER (WHERE NOT cur AND event_type = 'impression')::int8 AS p_impressions,
           count(*) FILTER (WHERE NOT cur AND event_type = 'click')::int8 AS p_clicks,
           count(*) FILTER (WHERE NOT cur AND event_type = 'like')::int8 AS p_likes,
           count(*) FILTER (WHERE NOT cur AND event_type = 'collect')::int8 AS p_collects,
           count(*) FILTER (WHERE NOT cur AND event_type = 'comment')::int8 AS p_comments,
           count(*) FILTER (WHERE NOT cur AND event_type = 'share')::int8 AS p_shares,
           count(*) FILTER (WHERE NOT cur AND event_type = 'follow')::int8 AS p_follows
    FROM (
        SELECT event_type, occurred_at::date >= :from AS cur
        FROM events
        WHERE occurred_at::date BETWEEN :from - (:to - :from + 1) AND :to
    ) AS e
), v AS (
    SELECT impressions, clicks, likes + collects + comments + shares AS interactions,
           (:w_like * likes + :w_collect * collects + :w_comment * comments + :w_share * shares + :w_follow * follows)::float8 AS ces,
           p_impressions AS prev_impressions, p_clicks AS prev_clicks,
           p_likes + p_collects + p_comments + p_shares AS prev_interactions,
           (:w_like * p_likes + :w_collect * p_collects + :w_comment * p_comments + :w_share * p_shares + :w_follow * p_follows)::float8 AS prev_ces
    FROM agg
)
SELECT :from AS from_day, :to AS to_day, :from - (:to - :from + 1) AS prev_from_day, :from - 1 AS prev_to_day,
       impressions, clicks,
       clicks::float8 / NULLIF(impressions, 0)::float8 AS ctr,
       interactions,
       interactions::float8 / NULLIF(impressions, 0)::float8 AS engagement_rate,
       ces,
       prev_impressions, prev_clicks,
       prev_clicks::float8 / NULLIF(prev_impressions, 0)::float8 AS prev_ctr,
       prev_interactions,
       prev_interactions::float8 / NULLIF(prev_impressions, 0)::float8 AS prev_engagement_rate,
       prev_ces,
       (impressions - prev_impressions)::float8 / NULLIF(prev_impressions, 0)::float8 AS impressions_change,
       (clicks - prev_clicks)::float8 / NULLIF(prev_clicks, 0)::float8 AS clicks_change,
       (clicks::float8 / NULLIF(impressions, 0)::float8 - prev_clicks::float8 / NULLIF(prev_impressions, 0)::float8)
           / NULLIF(prev_clicks::float8 / NULLIF(prev_impressions, 0)::float8, 0) AS ctr_change,
       (interactions - prev_interactions)::float8 / NULLIF(prev_interactions, 0)::float8 AS interactions_change,
       (interactions::float8 / NULLIF(impressions, 0)::float8 - prev_interactions::float8 / NULLIF(prev_impressions, 0)::float8)
           / NULLIF(prev_interactions::float8 / NULLIF(prev_impressions, 0)::float8, 0) AS engagement_rate_change,
       (ces - prev_ces) / NULLIF(prev_ces, 0) AS ces_change
FROM v
