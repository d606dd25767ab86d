-- The per-user sums of experiments are in user_variant_daily (sql/rollups/user_activity.sql); this
-- rollup keeps the distinct users per variant over any range.
--
-- Users with impressions in a variant, by day and by the previous day the same user had impressions in
-- the same variant (NULL: none before). A user seen in [from, to] is counted exactly once by the rows
-- with day in [from, to] and prev_day before from (or NULL): the row of their first day in the range.
-- So distinct users over a range = sum(users) over those rows, at most days² / 2 rows per variant.
CREATE TABLE variant_user_days (
    variant  text   NOT NULL,
    day      date   NOT NULL,
    prev_day date,
    users    bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX variant_user_days_key ON variant_user_days (variant, day, prev_day) NULLS NOT DISTINCT;

-- step: events
-- variant_user_days: for each (user, variant), the days this run added and the old days right after
-- them get a new previous day. Before the first added day m nothing changes; from m on, the pairs
-- (day, previous day) are counted again over all days (+1) and over the old days alone (-1). `prior`
-- is the last day before m, the same with or without the added days. The days from m on are read per
-- (user, variant) through the primary key (LATERAL, OFFSET 0 against flattening): as a plain join the
-- planner scanned and hashed the whole table, seconds on 10M events for a day's import.
WITH firsts AS (
    SELECT f.user_id, f.variant, f.m,
           (SELECT max(p.day) FROM user_variant_daily AS p
            WHERE p.user_id = f.user_id AND p.day < f.m AND p.variant = f.variant AND p.impressions > 0) AS prior
    FROM (SELECT user_id, variant, min(day) AS m FROM rollup_new_variant_days GROUP BY 1, 2) AS f
), tail AS (
    SELECT f.user_id, f.variant, r.day, f.prior, n.day IS NOT NULL AS added
    FROM firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM user_variant_daily AS x
                        WHERE x.user_id = f.user_id AND x.day >= f.m AND x.variant = f.variant AND x.impressions > 0
                        OFFSET 0) AS r
    LEFT JOIN rollup_new_variant_days AS n ON n.user_id = f.user_id AND n.day = r.day AND n.variant = f.variant
), pairs AS (
    SELECT variant, day, coalesce(lag(day) OVER (PARTITION BY user_id, variant ORDER BY day), prior) AS prev_day, 1 AS change
    FROM tail
    UNION ALL
    SELECT variant, day, coalesce(lag(day) OVER (PARTITION BY user_id, variant ORDER BY day), prior), -1
    FROM tail
    WHERE NOT added
)
INSERT INTO variant_user_days AS g (variant, day, prev_day, users)
SELECT variant, day, prev_day, sum(change)
FROM pairs
GROUP BY 1, 2, 3
HAVING sum(change) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (variant, day, prev_day) DO UPDATE SET users = g.users + excluded.users;

DELETE FROM variant_user_days WHERE users = 0;
