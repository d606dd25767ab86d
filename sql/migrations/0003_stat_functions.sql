-- Statistical helpers every tenant's metric SQL may call (tenant roles have hotpot_lib on their
-- search_path). Pure, immutable functions of their arguments: nothing here reads any table.
CREATE SCHEMA hotpot_lib;
GRANT USAGE ON SCHEMA hotpot_lib TO PUBLIC;

-- Standard normal cumulative distribution (Zelen & Severo 26.2.17, |error| < 7.5e-8).
CREATE FUNCTION hotpot_lib.normal_cdf(z double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN z >= 0 THEN 1 - p ELSE p END
    FROM (SELECT exp(-abs(z) * abs(z) / 2) / sqrt(2 * pi()) * t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429)))) AS p
          FROM (SELECT 1 / (1 + 0.2316419 * abs(z)) AS t) AS s) AS q
$$;

-- Lower bound of the Wilson score interval for successes out of trials (z = 1.96: 95%).
CREATE FUNCTION hotpot_lib.wilson_lower(successes double precision, trials double precision, z double precision DEFAULT 1.96)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN trials IS NULL OR trials <= 0 THEN NULL ELSE
        (p + z * z / (2 * trials) - z * sqrt((p * (1 - p) + z * z / (4 * trials)) / trials)) / (1 + z * z / trials)
    END
    FROM (SELECT LEAST(GREATEST(successes / NULLIF(trials, 0), 0), 1) AS p) AS s
$$;

-- Time decay used by hot scores: score / (age_hours + 2) ^ gravity.
CREATE FUNCTION hotpot_lib.decay(score double precision, age_hours double precision, gravity double precision DEFAULT 1.8)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT score / power(GREATEST(age_hours, 0) + 2, gravity)
$$;

-- Two-sided p-value of a two-proportion z-test (pooled variance).
CREATE FUNCTION hotpot_lib.two_proportion_p(successes_a double precision, trials_a double precision, successes_b double precision, trials_b double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN trials_a > 0 AND trials_b > 0 AND pooled > 0 AND pooled < 1 THEN
        2 * (1 - hotpot_lib.normal_cdf(abs(successes_b / trials_b - successes_a / trials_a)
                 / sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))))
    END
    FROM (SELECT (successes_a + successes_b) / NULLIF(trials_a + trials_b, 0) AS pooled) AS s
$$;

-- Dwell-time histogram bucket of a dwell in ms: 0 for under 1 s ... 15 for 10 min and more.
CREATE FUNCTION hotpot_lib.dwell_bucket(dwell_ms integer) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT width_bucket(dwell_ms, ARRAY[1000, 2000, 3000, 5000, 8000, 13000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000, 600000])::smallint
$$;

-- Upper bound in ms of a dwell bucket (NULL for the open last bucket): percentiles read from the
-- histogram are reported as the upper bound of the bucket the percentile falls in.
CREATE FUNCTION hotpot_lib.dwell_bucket_upper_ms(bucket smallint) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (ARRAY[1000, 2000, 3000, 5000, 8000, 13000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000, 600000])[bucket + 1]
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA hotpot_lib TO PUBLIC;
