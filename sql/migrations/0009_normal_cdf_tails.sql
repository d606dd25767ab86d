-- normal_cdf raised "value out of range: underflow" for |z| above about 38 (exp(-z²/2) below the
-- smallest double), which a two-proportion test over millions of impressions reaches easily. The
-- tail beyond |z| = 37 (about 1e-300) is now 0, so the result is exactly 0 or 1 there. CREATE OR REPLACE keeps the function's owner and grants.
CREATE OR REPLACE FUNCTION hotpot_lib.normal_cdf(z double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN z >= 0 THEN 1 - p ELSE p END
    FROM (SELECT CASE WHEN a >= 37 THEN 0 ELSE exp(-a * a / 2) / sqrt(2 * pi()) * t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429)))) END AS p
          FROM (SELECT least(abs(z), 37) AS a, 1 / (1 + 0.2316419 * least(abs(z), 37)) AS t) AS s) AS q
$$;
