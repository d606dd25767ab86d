-- A readout from rollups counts the users seen in more than one variant from multi_variant_users, which
-- now keeps each such user's days with impressions per variant (sql/rollups/variants.sql): the users
-- with two variants whose days overlap the range, one scan of a small table. It probed
-- user_variant_daily once per such user before (132 ms of a 137 ms readout with 20k of them on 10M
-- events). The rest of the function is as in 0028.
SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION hotpot_lib.variant_moments_from_rollups(metric text, from_day date, to_day date)
RETURNS TABLE (arms hotpot_lib.arm_moments[], users_in_several_variants bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
WITH users AS (
    SELECT variant, sum(users)::bigint AS n
    FROM variant_user_days
    WHERE day BETWEEN from_day AND to_day AND (prev_day IS NULL OR prev_day < from_day)
    GROUP BY 1
    HAVING sum(users) > 0
), sums AS (
    SELECT variant, sum(y) AS y, sum(yy) AS yy,
           sum(CASE metric WHEN 'dwell_per_impression' THEN w WHEN 'engagement_per_impression' THEN e ELSE c END) AS x,
           sum(CASE metric WHEN 'dwell_per_impression' THEN ww WHEN 'engagement_per_impression' THEN ee ELSE cc END) AS xx,
           sum(CASE metric WHEN 'dwell_per_impression' THEN wy WHEN 'engagement_per_impression' THEN ey ELSE cy END) AS xy
    FROM variant_day_pairs
    WHERE day BETWEEN from_day AND to_day AND later_day <= to_day
    GROUP BY 1
), without_impressions AS (
    SELECT variant, sum(x) AS x, sum(x * x) AS xx
    FROM (SELECT o.user_id, o.variant,
                 sum(CASE metric WHEN 'dwell_per_impression' THEN o.dwell_capped WHEN 'engagement_per_impression' THEN o.engagements
                                 ELSE o.clicks END)::numeric AS x
          FROM user_variant_daily AS o
          WHERE o.impressions = 0 AND o.variant IS NOT NULL AND (o.clicks <> 0 OR o.engagements <> 0 OR o.dwell_capped <> 0)
            AND o.day BETWEEN from_day AND to_day
          GROUP BY 1, 2
          HAVING NOT EXISTS (SELECT 1 FROM user_variant_daily AS i
                             WHERE i.user_id = o.user_id AND i.day BETWEEN from_day AND to_day
                               AND i.variant = o.variant AND i.impressions > 0)) AS s
    GROUP BY 1
), arms AS (
    SELECT ROW(u.variant, u.n,
               s.x - coalesce(o.x, 0),
               CASE WHEN metric = 'clicks_per_user' THEN u.n ELSE s.y END,
               s.xx - coalesce(o.xx, 0),
               CASE WHEN metric = 'clicks_per_user' THEN u.n ELSE s.yy END,
               CASE WHEN metric = 'clicks_per_user' THEN s.x - coalesce(o.x, 0) ELSE s.xy END,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::hotpot_lib.arm_moments AS moments
    FROM users AS u
    JOIN sums AS s ON s.variant = u.variant
    LEFT JOIN without_impressions AS o ON o.variant = u.variant
)
SELECT (SELECT array_agg(moments) FROM arms),
       (SELECT count(*)
        FROM (SELECT m.user_id
              FROM multi_variant_users AS m
              WHERE m.impression_days && daterange(from_day, to_day, '[]')
              GROUP BY 1
              HAVING count(*) > 1) AS several)
$$;
