-- Experiments (docs/experiments.md): what a readout with the user as the unit needs, for any range of
-- days, without reading one row per user. Each user's sums over a range are sums of their days, and the
-- readout needs, per arm, the users, the sums of x and y and the sums of the squares and products of
-- the users' range sums. The squares are sums over pairs of days: (sum over d of x_d)^2 = sum over d, e
-- of x_d x_e. So these tables keep, per variant, the day sums and the pair sums of every two days at
-- most hotpot_lib.variant_pair_days() - 1 apart, summed over users; a range of up to that many days is
-- read from at most days^2 / 2 rows per variant, whatever the number of users.
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

-- Per variant and two days day <= later_day (at most hotpot_lib.variant_pair_days() - 1 apart), summed
-- over the users' user_variant_daily rows of the variant: y = impressions, c = clicks, e = engagements,
-- w = dwell_capped. On the row with later_day = day: the day's sums (y, c, e, w), squares (yy = y_d²,
-- ...) and products (cy = c_d y_d, ...). On the other rows: 2 x_d x_e for the squares and both products
-- (cy = c_d y_e + c_e y_d), so a user's (sum over the range)² is the sum of the rows within the range.
-- numeric: dwell squares overflow bigint.
CREATE TABLE variant_day_pairs (
    variant   text    NOT NULL,
    day       date    NOT NULL,
    later_day date    NOT NULL,
    y  numeric NOT NULL DEFAULT 0, c  numeric NOT NULL DEFAULT 0, e  numeric NOT NULL DEFAULT 0, w  numeric NOT NULL DEFAULT 0,
    yy numeric NOT NULL DEFAULT 0, cc numeric NOT NULL DEFAULT 0, ee numeric NOT NULL DEFAULT 0, ww numeric NOT NULL DEFAULT 0,
    cy numeric NOT NULL DEFAULT 0, ey numeric NOT NULL DEFAULT 0, wy numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (variant, day, later_day)
);

-- Users ever seen with impressions in more than one variant: the few whose days a readout checks for
-- the "users seen in more than one variant" warning.
CREATE TABLE multi_variant_users (
    user_id text PRIMARY KEY
);

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

-- variant_day_pairs. For each (user, variant) this run touched, its days within
-- hotpot_lib.variant_pair_days() - 1 of the touched ones, with their values after this run (user_activity
-- has added them) and before it (after minus this run's delta). A pair of days changes by its product
-- after minus its product before; pairs without a touched day do not change.
CREATE TEMP TABLE rollup_variant_pair_values ON COMMIT DROP AS
WITH touched AS (
    SELECT user_id, variant, min(day) - (hotpot_lib.variant_pair_days() - 1) AS lo, max(day) + (hotpot_lib.variant_pair_days() - 1) AS hi
    FROM rollup_user_delta
    WHERE variant IS NOT NULL
    GROUP BY 1, 2
)
SELECT t.user_id, t.variant, r.day, d.user_id IS NOT NULL AS touched,
       r.impressions AS y1, r.clicks AS c1, r.engagements AS e1, r.dwell_capped AS w1,
       r.impressions - coalesce(d.impressions, 0) AS y0, r.clicks - coalesce(d.clicks, 0) AS c0,
       r.engagements - coalesce(d.engagements, 0) AS e0, r.dwell_capped - coalesce(d.dwell_capped, 0) AS w0,
       -- bigint products of values up to sqrt(2^63) cannot overflow; larger ones take the numeric statement
       greatest(r.impressions, r.clicks, r.engagements, r.dwell_capped) <= 3037000499 AS small
FROM touched AS t
CROSS JOIN LATERAL (SELECT x.day, x.impressions, x.clicks, x.engagements, x.dwell_capped FROM user_variant_daily AS x
                    WHERE x.user_id = t.user_id AND x.day BETWEEN t.lo AND t.hi AND x.variant = t.variant OFFSET 0) AS r
LEFT JOIN rollup_user_delta AS d ON d.user_id = t.user_id AND d.day = r.day AND d.variant = t.variant;

-- Without statistics the planner takes the pairs for a few rows and sorts millions of them to disk.
ANALYZE rollup_variant_pair_values;

INSERT INTO variant_day_pairs AS g (variant, day, later_day, y, c, e, w, yy, cc, ee, ww, cy, ey, wy)
SELECT variant, day, later_day, coalesce(sum(y), 0), coalesce(sum(c), 0), coalesce(sum(e), 0), coalesce(sum(w), 0),
       f * sum(yy), f * sum(cc), f * sum(ee), f * sum(ww),
       sum(cy) + CASE WHEN f = 2 THEN sum(yc) ELSE 0 END, sum(ey) + CASE WHEN f = 2 THEN sum(ye) ELSE 0 END,
       sum(wy) + CASE WHEN f = 2 THEN sum(yw) ELSE 0 END
-- The pairs with a touched day, in two halves: those whose first day is touched, and those whose first
-- day is not and whose second is. Each half joins the few touched rows with a user's days (one join
-- filtered on "either day touched" formed every pair of a touched user's days first: a day's load into
-- a tenant with months of history paid for its users' days squared). Each half is summed by its own
-- (variant, day, later_day) before the two are added: over a UNION ALL of the pair rows the planner
-- cannot estimate the groups, took millions, and sorted every pair to disk instead of hashing a few
-- thousand groups (a bulk fold of 10M events: 166 s against 43 s).
FROM (SELECT a.variant, a.day, b.day AS later_day, CASE WHEN a.day = b.day THEN 1 ELSE 2 END AS f,
             sum(a.y1 - a.y0) FILTER (WHERE a.day = b.day) AS y, sum(a.c1 - a.c0) FILTER (WHERE a.day = b.day) AS c,
             sum(a.e1 - a.e0) FILTER (WHERE a.day = b.day) AS e, sum(a.w1 - a.w0) FILTER (WHERE a.day = b.day) AS w,
             sum(a.y1 * b.y1 - a.y0 * b.y0) AS yy, sum(a.c1 * b.c1 - a.c0 * b.c0) AS cc,
             sum(a.e1 * b.e1 - a.e0 * b.e0) AS ee, sum(a.w1 * b.w1 - a.w0 * b.w0) AS ww,
             sum(a.c1 * b.y1 - a.c0 * b.y0) AS cy, sum(b.c1 * a.y1 - b.c0 * a.y0) AS yc,
             sum(a.e1 * b.y1 - a.e0 * b.y0) AS ey, sum(b.e1 * a.y1 - b.e0 * a.y0) AS ye,
             sum(a.w1 * b.y1 - a.w0 * b.y0) AS wy, sum(b.w1 * a.y1 - b.w0 * a.y0) AS yw
      FROM rollup_variant_pair_values AS a
      JOIN rollup_variant_pair_values AS b
        ON b.user_id = a.user_id AND b.variant = a.variant AND b.day >= a.day AND b.day < a.day + hotpot_lib.variant_pair_days()
      WHERE a.touched AND a.small AND b.small
      GROUP BY 1, 2, 3
      UNION ALL
      SELECT a.variant, a.day, b.day, 2, NULL, NULL, NULL, NULL,
             sum(a.y1 * b.y1 - a.y0 * b.y0), sum(a.c1 * b.c1 - a.c0 * b.c0),
             sum(a.e1 * b.e1 - a.e0 * b.e0), sum(a.w1 * b.w1 - a.w0 * b.w0),
             sum(a.c1 * b.y1 - a.c0 * b.y0), sum(b.c1 * a.y1 - b.c0 * a.y0),
             sum(a.e1 * b.y1 - a.e0 * b.y0), sum(b.e1 * a.y1 - b.e0 * a.y0),
             sum(a.w1 * b.y1 - a.w0 * b.y0), sum(b.w1 * a.y1 - b.w0 * a.y0)
      FROM rollup_variant_pair_values AS a
      JOIN rollup_variant_pair_values AS b
        ON b.user_id = a.user_id AND b.variant = a.variant AND b.day > a.day AND b.day < a.day + hotpot_lib.variant_pair_days()
      WHERE b.touched AND NOT a.touched AND a.small AND b.small
      GROUP BY 1, 2, 3) AS half
GROUP BY variant, day, later_day, f
ORDER BY 1, 2, 3
ON CONFLICT (variant, day, later_day) DO UPDATE SET
    y = g.y + excluded.y, c = g.c + excluded.c, e = g.e + excluded.e, w = g.w + excluded.w,
    yy = g.yy + excluded.yy, cc = g.cc + excluded.cc, ee = g.ee + excluded.ee, ww = g.ww + excluded.ww,
    cy = g.cy + excluded.cy, ey = g.ey + excluded.ey, wy = g.wy + excluded.wy;

-- The same in numeric for the pairs with a value too large for bigint products (none in real data).
INSERT INTO variant_day_pairs AS g (variant, day, later_day, y, c, e, w, yy, cc, ee, ww, cy, ey, wy)
SELECT variant, day, later_day, coalesce(y, 0), coalesce(c, 0), coalesce(e, 0), coalesce(w, 0),
       f * yy, f * cc, f * ee, f * ww,
       cy + CASE WHEN f = 2 THEN yc ELSE 0 END, ey + CASE WHEN f = 2 THEN ye ELSE 0 END, wy + CASE WHEN f = 2 THEN yw ELSE 0 END
FROM (SELECT a.variant, a.day, b.day AS later_day, CASE WHEN a.day = b.day THEN 1 ELSE 2 END AS f,
             sum(a.y1::numeric - a.y0) FILTER (WHERE a.day = b.day) AS y, sum(a.c1::numeric - a.c0) FILTER (WHERE a.day = b.day) AS c,
             sum(a.e1::numeric - a.e0) FILTER (WHERE a.day = b.day) AS e, sum(a.w1::numeric - a.w0) FILTER (WHERE a.day = b.day) AS w,
             sum(a.y1::numeric * b.y1 - a.y0::numeric * b.y0) AS yy, sum(a.c1::numeric * b.c1 - a.c0::numeric * b.c0) AS cc,
             sum(a.e1::numeric * b.e1 - a.e0::numeric * b.e0) AS ee, sum(a.w1::numeric * b.w1 - a.w0::numeric * b.w0) AS ww,
             sum(a.c1::numeric * b.y1 - a.c0::numeric * b.y0) AS cy, sum(b.c1::numeric * a.y1 - b.c0::numeric * a.y0) AS yc,
             sum(a.e1::numeric * b.y1 - a.e0::numeric * b.y0) AS ey, sum(b.e1::numeric * a.y1 - b.e0::numeric * a.y0) AS ye,
             sum(a.w1::numeric * b.y1 - a.w0::numeric * b.y0) AS wy, sum(b.w1::numeric * a.y1 - b.w0::numeric * a.y0) AS yw
      -- Only the (user, variant) with a large value: both days of a pair are the same user's and
      -- variant's, so the others cannot have one, and the join over every pair (most of the fold's
      -- time) is not run a second time to find none.
      FROM (SELECT DISTINCT user_id, variant FROM rollup_variant_pair_values WHERE NOT small) AS large
      JOIN rollup_variant_pair_values AS a ON a.user_id = large.user_id AND a.variant = large.variant
      JOIN rollup_variant_pair_values AS b
        ON b.user_id = a.user_id AND b.variant = a.variant AND b.day >= a.day AND b.day < a.day + hotpot_lib.variant_pair_days()
      WHERE (a.touched OR b.touched) AND NOT (a.small AND b.small)
      GROUP BY 1, 2, 3) AS s
ORDER BY 1, 2, 3
ON CONFLICT (variant, day, later_day) DO UPDATE SET
    y = g.y + excluded.y, c = g.c + excluded.c, e = g.e + excluded.e, w = g.w + excluded.w,
    yy = g.yy + excluded.yy, cc = g.cc + excluded.cc, ee = g.ee + excluded.ee, ww = g.ww + excluded.ww,
    cy = g.cy + excluded.cy, ey = g.ey + excluded.ey, wy = g.wy + excluded.wy;

DROP TABLE rollup_variant_pair_values;

-- multi_variant_users: a user newly seen in a variant who has impressions in another one.
INSERT INTO multi_variant_users (user_id)
SELECT DISTINCT n.user_id
FROM rollup_new_variant_days AS n
WHERE EXISTS (SELECT 1 FROM user_variant_daily AS x
              WHERE x.user_id = n.user_id AND x.variant <> n.variant AND x.impressions > 0)
ORDER BY 1
ON CONFLICT (user_id) DO NOTHING;
