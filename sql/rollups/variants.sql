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

-- Users ever seen with impressions in more than one variant, with the days they had impressions in each
-- of their variants: a readout's "users seen in more than one variant" warning counts the users with
-- two rows overlapping its range, one small scan (it probed user_variant_daily per such user: 132 ms
-- with 20k of them).
CREATE TABLE multi_variant_users (
    user_id         text           NOT NULL,
    variant         text           NOT NULL,
    impression_days datemultirange NOT NULL,
    PRIMARY KEY (user_id, variant)
);

-- step: events
-- Everything below reads what this run changed from rollup_variant_day_change (user_activity): the
-- touched (user, variant, day) rows, after this run (y1, c1, e1, w1) and before it (y0, ...). A row
-- whose impressions were 0 before and are not now is a user newly seen in the variant that day.
--
-- The (user, variant) pairs this run gave new days with impressions: the first such day m and `prior`,
-- the user's last day with impressions in the variant before m (NULL: none), the same with or without
-- the added days. The previous days are read per (user, variant) through the primary key (LATERAL,
-- OFFSET 0 against flattening: as a plain join the planner scanned and hashed the whole table, seconds
-- on 10M events for a day's import).
CREATE TEMP TABLE rollup_variant_firsts ON COMMIT DROP AS
SELECT f.user_id, f.variant, f.m,
       (SELECT max(p.day) FROM user_variant_daily AS p
        WHERE p.user_id = f.user_id AND p.day < f.m AND p.variant = f.variant AND p.impressions > 0) AS prior
FROM (SELECT user_id, variant, min(day) AS m FROM rollup_variant_day_change WHERE y0 = 0 AND y1 > 0 GROUP BY 1, 2) AS f;

-- variant_user_days: for each (user, variant), the days this run added and the old days right after
-- them get a new previous day. Before m nothing changes; from m on, the pairs (day, previous day) are
-- counted again over all days (+1) and over the old days alone (-1).
WITH tail AS (
    SELECT f.user_id, f.variant, r.day, f.prior, n.day IS NOT NULL AS added
    FROM rollup_variant_firsts AS f
    CROSS JOIN LATERAL (SELECT x.day FROM user_variant_daily AS x
                        WHERE x.user_id = f.user_id AND x.day >= f.m AND x.variant = f.variant AND x.impressions > 0
                        OFFSET 0) AS r
    LEFT JOIN rollup_variant_day_change AS n
      ON n.user_id = f.user_id AND n.day = r.day AND n.variant = f.variant AND n.y0 = 0 AND n.y1 > 0
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

-- variant_day_pairs. A pair of a (user, variant)'s days changes by its product after this run minus its
-- product before; pairs without a touched day do not change. The touched rows are few; their pairs with
-- each other are one small self-join, and their pairs with the user's untouched days are read from
-- user_variant_daily as they stream past, without copying those days anywhere: for an untouched day u a
-- pair's product changes by (touched after - touched before) * u. A day's load into a tenant with months
-- of history touches one day of each active user, whose other days are nearly all untouched (the
-- previous version copied them all and joined the copy with itself: 10 s of a 21 s fold on 10M events).
-- Products are bigint where both values are at most sqrt(2^63) (3037000499), which cannot overflow; the
-- few (user, variant) with a larger value are summed in numeric by the last statement.
--
-- Pairs of two touched days (day <= later_day). On the row with later_day = day: the day's sums and
-- squares; elsewhere 2 x_d x_e for the squares and both products for the cross terms.
INSERT INTO variant_day_pairs AS g (variant, day, later_day, y, c, e, w, yy, cc, ee, ww, cy, ey, wy)
SELECT variant, day, later_day, coalesce(y, 0), coalesce(c, 0), coalesce(e, 0), coalesce(w, 0),
       f * yy, f * cc, f * ee, f * ww,
       cy + CASE WHEN f = 2 THEN yc ELSE 0 END, ey + CASE WHEN f = 2 THEN ye ELSE 0 END, wy + CASE WHEN f = 2 THEN yw ELSE 0 END
FROM (SELECT a.variant, a.day, b.day AS later_day, CASE WHEN a.day = b.day THEN 1 ELSE 2 END AS f,
             sum(a.y1 - a.y0) FILTER (WHERE a.day = b.day) AS y, sum(a.c1 - a.c0) FILTER (WHERE a.day = b.day) AS c,
             sum(a.e1 - a.e0) FILTER (WHERE a.day = b.day) AS e, sum(a.w1 - a.w0) FILTER (WHERE a.day = b.day) AS w,
             sum(a.y1 * b.y1 - a.y0 * b.y0) AS yy, sum(a.c1 * b.c1 - a.c0 * b.c0) AS cc,
             sum(a.e1 * b.e1 - a.e0 * b.e0) AS ee, sum(a.w1 * b.w1 - a.w0 * b.w0) AS ww,
             sum(a.c1 * b.y1 - a.c0 * b.y0) AS cy, sum(b.c1 * a.y1 - b.c0 * a.y0) AS yc,
             sum(a.e1 * b.y1 - a.e0 * b.y0) AS ey, sum(b.e1 * a.y1 - b.e0 * a.y0) AS ye,
             sum(a.w1 * b.y1 - a.w0 * b.y0) AS wy, sum(b.w1 * a.y1 - b.w0 * a.y0) AS yw
      FROM rollup_variant_day_change AS a
      JOIN rollup_variant_day_change AS b
        ON b.user_id = a.user_id AND b.variant = a.variant AND b.day >= a.day AND b.day < a.day + hotpot_lib.variant_pair_days()
      WHERE greatest(a.y1, a.c1, a.e1, a.w1) <= 3037000499 AND greatest(b.y1, b.c1, b.e1, b.w1) <= 3037000499
      GROUP BY 1, 2, 3) AS s
ORDER BY 1, 2, 3
ON CONFLICT (variant, day, later_day) DO UPDATE SET
    y = g.y + excluded.y, c = g.c + excluded.c, e = g.e + excluded.e, w = g.w + excluded.w,
    yy = g.yy + excluded.yy, cc = g.cc + excluded.cc, ee = g.ee + excluded.ee, ww = g.ww + excluded.ww,
    cy = g.cy + excluded.cy, ey = g.ey + excluded.ey, wy = g.wy + excluded.wy;

-- Pairs of a touched day t and an untouched day u of the same user and variant, at most
-- hotpot_lib.variant_pair_days() - 1 apart: never on the diagonal, so 2 (t after - t before) u for the
-- squares and (c_t after - before) y_u + c_u (y_t after - before) for the cross terms. Each (user,
-- variant)'s window of days is read once through the primary key (LATERAL, OFFSET 0 against a plan that
-- reads the whole table), the touched days dropped against the window's list of them. The planner takes each window
-- for a row or two and would sort the millions of pairs to disk to group them; a hash of the few
-- thousand (variant, day, later_day) groups is what fits, hence enable_sort off for this statement
-- (and no ORDER BY on the insert, which would cost the hash a sort as well).
--
-- A bulk fold (a tenant's first load, a rebuild) touches every row, so there is nothing untouched to
-- read, and reading every window to find that out cost 4.5 s of a 1M-event fold. When the table's row
-- estimate is about the number of touched rows, the two are counted: equal means every row is touched.
SET LOCAL enable_sort = off;
WITH everything_touched AS (
    SELECT (SELECT count(*) FROM user_variant_daily WHERE variant IS NOT NULL) = (SELECT count(*) FROM rollup_variant_day_change) AS yes
    WHERE (SELECT reltuples FROM pg_class WHERE oid = 'user_variant_daily'::regclass)
          < 1.2 * (SELECT count(*) FROM rollup_variant_day_change) + 1000
), windows AS (
    SELECT user_id, variant, min(day) - (hotpot_lib.variant_pair_days() - 1) AS lo,
           max(day) + (hotpot_lib.variant_pair_days() - 1) AS hi, array_agg(day) AS touched_days
    FROM rollup_variant_day_change
    WHERE NOT coalesce((SELECT yes FROM everything_touched), false)
    GROUP BY 1, 2
), untouched AS (
    SELECT w.user_id, w.variant, r.day, r.impressions AS y, r.clicks AS c, r.engagements AS e, r.dwell_capped AS w
    FROM windows AS w
    CROSS JOIN LATERAL (SELECT x.day, x.impressions, x.clicks, x.engagements, x.dwell_capped FROM user_variant_daily AS x
                        WHERE x.user_id = w.user_id AND x.day BETWEEN w.lo AND w.hi AND x.variant = w.variant OFFSET 0) AS r
    WHERE r.day <> ALL (w.touched_days)
      AND greatest(r.impressions, r.clicks, r.engagements, r.dwell_capped) <= 3037000499
), sums AS (
    SELECT t.variant, least(t.day, u.day) AS day, greatest(t.day, u.day) AS later_day,
           sum((t.y1 - t.y0) * u.y) AS yy, sum((t.c1 - t.c0) * u.c) AS cc,
           sum((t.e1 - t.e0) * u.e) AS ee, sum((t.w1 - t.w0) * u.w) AS ww,
           sum((t.c1 - t.c0) * u.y + u.c * (t.y1 - t.y0)) AS cy,
           sum((t.e1 - t.e0) * u.y + u.e * (t.y1 - t.y0)) AS ey,
           sum((t.w1 - t.w0) * u.y + u.w * (t.y1 - t.y0)) AS wy
    FROM untouched AS u
    JOIN rollup_variant_day_change AS t
      ON t.user_id = u.user_id AND t.variant = u.variant
     AND u.day > t.day - hotpot_lib.variant_pair_days() AND u.day < t.day + hotpot_lib.variant_pair_days()
    WHERE greatest(t.y1, t.c1, t.e1, t.w1) <= 3037000499
    GROUP BY 1, 2, 3
)
INSERT INTO variant_day_pairs AS g (variant, day, later_day, yy, cc, ee, ww, cy, ey, wy)
SELECT variant, day, later_day, 2 * yy, 2 * cc, 2 * ee, 2 * ww, cy, ey, wy
FROM sums
ON CONFLICT (variant, day, later_day) DO UPDATE SET
    yy = g.yy + excluded.yy, cc = g.cc + excluded.cc, ee = g.ee + excluded.ee, ww = g.ww + excluded.ww,
    cy = g.cy + excluded.cy, ey = g.ey + excluded.ey, wy = g.wy + excluded.wy;
SET LOCAL enable_sort = on;

-- The pairs left out above, those with a value above 3037000499, in numeric: only the (user, variant)
-- with such a value, among the touched rows or in user_variant_daily_large_idx (empty in real data), so
-- only their days are read a second time. Each pair with a touched day once: by its first day when that
-- is touched, else by its second.
WITH large AS (
    SELECT user_id, variant FROM rollup_variant_day_change WHERE greatest(y1, c1, e1, w1) > 3037000499
    UNION
    SELECT x.user_id, x.variant FROM user_variant_daily AS x
    WHERE greatest(x.impressions, x.clicks, x.engagements, x.dwell_capped) > 3037000499 AND x.variant IS NOT NULL
), days AS (
    SELECT l.user_id, l.variant, x.day, t.user_id IS NOT NULL AS touched,
           x.impressions AS y1, x.clicks AS c1, x.engagements AS e1, x.dwell_capped AS w1,
           coalesce(t.y0, x.impressions) AS y0, coalesce(t.c0, x.clicks) AS c0,
           coalesce(t.e0, x.engagements) AS e0, coalesce(t.w0, x.dwell_capped) AS w0,
           greatest(x.impressions, x.clicks, x.engagements, x.dwell_capped) <= 3037000499 AS small
    FROM large AS l
    CROSS JOIN LATERAL (SELECT y.day, y.impressions, y.clicks, y.engagements, y.dwell_capped FROM user_variant_daily AS y
                        WHERE y.user_id = l.user_id AND y.variant = l.variant OFFSET 0) AS x
    LEFT JOIN rollup_variant_day_change AS t ON t.user_id = l.user_id AND t.day = x.day AND t.variant = l.variant
)
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
      FROM days AS a
      JOIN days AS b
        ON b.user_id = a.user_id AND b.variant = a.variant AND b.day >= a.day AND b.day < a.day + hotpot_lib.variant_pair_days()
      WHERE (a.touched OR b.touched) AND NOT (a.small AND b.small)
      GROUP BY 1, 2, 3) AS s
ORDER BY 1, 2, 3
ON CONFLICT (variant, day, later_day) DO UPDATE SET
    y = g.y + excluded.y, c = g.c + excluded.c, e = g.e + excluded.e, w = g.w + excluded.w,
    yy = g.yy + excluded.yy, cc = g.cc + excluded.cc, ee = g.ee + excluded.ee, ww = g.ww + excluded.ww,
    cy = g.cy + excluded.cy, ey = g.ey + excluded.ey, wy = g.wy + excluded.wy;

-- multi_variant_users, for the users it holds: the days this run gave impressions in a variant are
-- added to that variant's days (a variant new to the user is a new row). Impressions only grow, so
-- days are only ever added.
INSERT INTO multi_variant_users AS m (user_id, variant, impression_days)
SELECT t.user_id, t.variant, range_agg(daterange(t.day, t.day, '[]'))
FROM rollup_variant_day_change AS t
WHERE t.y0 = 0 AND t.y1 > 0 AND t.variant IS NOT NULL
  AND EXISTS (SELECT 1 FROM multi_variant_users AS k WHERE k.user_id = t.user_id)
GROUP BY 1, 2
ORDER BY 1, 2
ON CONFLICT (user_id, variant) DO UPDATE SET impression_days = m.impression_days + excluded.impression_days;

-- Users new to the table: a user newly seen in a variant who has impressions in another one, with all
-- their variants' days. Only a user new to the variant can be new to this table (`prior` NULL: no
-- earlier day in it; a superset): one seen in it before was checked when the second of their variants
-- first appeared, whichever came last.
INSERT INTO multi_variant_users (user_id, variant, impression_days)
SELECT x.user_id, x.variant, range_agg(daterange(x.day, x.day, '[]'))
FROM user_variant_daily AS x
WHERE x.user_id IN (SELECT f.user_id
                    FROM rollup_variant_firsts AS f
                    WHERE f.prior IS NULL
                      AND NOT EXISTS (SELECT 1 FROM multi_variant_users AS k WHERE k.user_id = f.user_id)
                      AND EXISTS (SELECT 1 FROM user_variant_daily AS o
                                  WHERE o.user_id = f.user_id AND o.variant <> f.variant AND o.impressions > 0))
  AND x.variant IS NOT NULL AND x.impressions > 0
GROUP BY 1, 2
ORDER BY 1, 2;

DROP TABLE rollup_variant_firsts;
