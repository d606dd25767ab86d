-- A tenant's data. Runs with search_path set to the tenant's own schema; names are unqualified.
-- Rows follow the import contract (docs/import-contract.md).

CREATE TABLE notes (
    note_id       text PRIMARY KEY,
    author_id     text NOT NULL,
    title         text,
    note_type     text CHECK (note_type IN ('image', 'video')),
    published_at  timestamptz NOT NULL,
    category      text,
    is_commercial boolean,
    import_id     bigint,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_author_idx ON notes (author_id);
CREATE INDEX notes_published_idx ON notes (published_at);

CREATE TABLE users (
    user_id    text PRIMARY KEY,
    signup_at  timestamptz,
    gender     text,
    age_band   text,
    city       text,
    interests  text[],
    followers  integer CHECK (followers >= 0),
    import_id  bigint,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE note_tags (
    note_id       text NOT NULL,
    tag           text NOT NULL,
    source        text NOT NULL DEFAULT 'model' CHECK (source IN ('model', 'human', 'creator')),
    confidence    real CHECK (confidence BETWEEN 0 AND 1),
    model_version text,
    import_id     bigint,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (note_id, tag, source)
);
CREATE INDEX note_tags_tag_idx ON note_tags (tag);

-- Behaviour events, partitioned by month of occurred_at. Partitions are created as data arrives; the
-- default partition catches anything outside them so a load never fails for want of one.
CREATE TABLE events (
    event_id    text NOT NULL,
    occurred_at timestamptz NOT NULL,
    user_id     text NOT NULL,
    note_id     text NOT NULL,
    event_type  text NOT NULL CHECK (event_type IN ('impression', 'click', 'like', 'collect', 'comment', 'share', 'follow')),
    dwell_ms    integer CHECK (dwell_ms >= 0),
    surface     text,
    variant     text,
    import_id   bigint
) PARTITION BY RANGE (occurred_at);

CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_note_time_idx ON events (note_id, occurred_at);
CREATE INDEX events_time_idx ON events (occurred_at);

-- A unique key on a partitioned table must contain the partition key, so event_id uniqueness lives in
-- this table. A statement trigger fills it from every insert into events: storing one event_id twice
-- fails with a unique violation, whoever tries.
CREATE TABLE event_ids (
    event_id text PRIMARY KEY
);

CREATE FUNCTION events_register_ids() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO event_ids (event_id) SELECT event_id FROM inserted_events;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_unique_event_id
AFTER INSERT ON events
REFERENCING NEW TABLE AS inserted_events
FOR EACH STATEMENT EXECUTE FUNCTION events_register_ids();
