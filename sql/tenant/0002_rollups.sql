-- Rollups: per tenant-local day (and hour) aggregates of events, maintained inside each import
-- transaction from the rows actually inserted (sql/rollups/apply.sql), and rebuilt from scratch by
-- `hotpot rollups rebuild` with the same statements. They depend on events alone, never on notes or
-- users, so the order in which files arrive cannot change them.

-- Per note and tenant-local day.
CREATE TABLE note_daily (
    note_id     text   NOT NULL,
    day         date   NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    dwell_sum   bigint NOT NULL DEFAULT 0,   -- sum of dwell_ms over events that carry one
    dwell_count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, day)
);
CREATE INDEX note_daily_day_idx ON note_daily (day);

-- Per note and hour (UTC hour start): early velocity and cold-start windows after publication.
CREATE TABLE note_hourly (
    note_id     text        NOT NULL,
    hour        timestamptz NOT NULL,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, hour)
);

-- Per tenant-local day, surface and variant (NULL kept as its own group): traffic mix and A/B readouts.
CREATE TABLE traffic_daily (
    day         date   NOT NULL,
    surface     text,
    variant     text,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    likes       bigint NOT NULL DEFAULT 0,
    collects    bigint NOT NULL DEFAULT 0,
    comments    bigint NOT NULL DEFAULT 0,
    shares      bigint NOT NULL DEFAULT 0,
    follows     bigint NOT NULL DEFAULT 0,
    dwell_sum   bigint NOT NULL DEFAULT 0,
    dwell_count bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX traffic_daily_key ON traffic_daily (day, surface, variant) NULLS NOT DISTINCT;

-- Per user and tenant-local day: activity (DAU, retention) and per-user impressions/clicks.
CREATE TABLE user_daily (
    user_id     text   NOT NULL,
    day         date   NOT NULL,
    events      bigint NOT NULL DEFAULT 0,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0,
    engagements bigint NOT NULL DEFAULT 0,   -- likes + collects + comments + shares + follows
    PRIMARY KEY (user_id, day)
);
CREATE INDEX user_daily_day_idx ON user_daily (day);

-- Per user: first time seen in events (cohorts).
CREATE TABLE user_first_seen (
    user_id       text        PRIMARY KEY,
    first_seen_at timestamptz NOT NULL,
    first_day     date        NOT NULL
);
CREATE INDEX user_first_seen_day_idx ON user_first_seen (first_day);

-- Per user, day and variant: impressions and clicks, for per-user A/B statistics.
CREATE TABLE user_variant_daily (
    user_id     text   NOT NULL,
    day         date   NOT NULL,
    variant     text,
    impressions bigint NOT NULL DEFAULT 0,
    clicks      bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX user_variant_daily_key ON user_variant_daily (user_id, day, variant) NULLS NOT DISTINCT;

-- Dwell-time histogram per note and day. Bucket upper bounds in ms come from hotpot_lib.dwell_bucket().
CREATE TABLE dwell_histogram (
    note_id text     NOT NULL,
    day     date     NOT NULL,
    bucket  smallint NOT NULL,
    events  bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (note_id, day, bucket)
);
CREATE INDEX dwell_histogram_day_idx ON dwell_histogram (day);
