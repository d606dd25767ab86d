WITH attrs AS (
    SELECT a.user_id, coalesce(u.gender, 'unknown') AS gender, coalesce(u.age_band, 'unknown') AS age_band,
           coalesce(u.city, 'unknown') AS city
    FROM (SELECT DISTINCT user_id FROM events WHERE occurred_at::date BETWEEN :from AND :to) AS a
    LEFT JOIN users AS u ON u.user_id = a.user_id
), keyed AS (
    SELECT 1 AS set_no, gender AS g, NULL::text AS ab, NULL::text AS c, user_id FROM attrs
    UNION ALL SELECT 2, NULL, age_band, NULL, user_id FROM attrs
    UNION ALL SELECT 3, NULL, NULL, city, user_id FROM attrs
    UNION ALL SELECT 4, gender, age_band, city, user_id FROM attrs WHERE :cross
), sized AS (
    SELECT k.*, count(*) OVER (PARTITION BY set_no, g, ab, c) AS cell FROM keyed AS k
), labelled AS (
    SELECT set_no, cell < :min_cell AS is_other,
           CASE WHEN cell < :min_cell AND g IS NOT NULL THEN 'other' ELSE g END AS gender,
           CASE WHEN cell < :min_cell AND ab IS NOT NULL THEN 'other' ELSE ab END AS age_band,
           CASE WHEN cell < :min_cell AND c IS NOT NULL THEN 'other' ELSE c END AS city
    FROM sized
), counted AS (
    SELECT set_no, is_other, gender, age_band, city, count(*)::int8 AS users
    FROM labelled GROUP BY 1, 2, 3, 4, 5
), kept AS (
    SELECT * FROM counted WHERE users >= :min_cell
)
SELECT CASE set_no WHEN 1 THEN 'gender' WHEN 2 THEN 'age_band' WHEN 3 THEN 'city' ELSE 'cross' END AS breakdown,
       gender, age_band, city, users,
       users::float8 / (SELECT sum(users) FROM kept AS k2 WHERE k2.set_no = k.set_no)::float8 AS share
FROM kept AS k
ORDER BY set_no, is_other, users DESC, gender, age_band, city
