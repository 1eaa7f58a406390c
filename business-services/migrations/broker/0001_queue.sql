-- The embedded broker: messages, push subscriptions and one delivery row per (subscription,
-- message) that tracks attempts, leases, acknowledgement and dead-lettering.
CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    -- Publication order: per ordering key, deliveries follow it.
    seq           BIGINT NOT NULL UNIQUE,
    topic         TEXT NOT NULL,
    ordering_key  TEXT NOT NULL,
    -- The payload, base64.
    data          TEXT NOT NULL,
    -- JSON object of string attributes.
    attributes    TEXT NOT NULL,
    publish_time  BIGINT NOT NULL
);

CREATE TABLE subscriptions (
    name          TEXT PRIMARY KEY,
    topic         TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    max_attempts  BIGINT NOT NULL CHECK (max_attempts >= 1),
    created_at    BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_topic ON subscriptions (topic);

CREATE TABLE deliveries (
    subscription     TEXT NOT NULL REFERENCES subscriptions (name) ON DELETE CASCADE,
    message_id       TEXT NOT NULL REFERENCES messages (id),
    seq              BIGINT NOT NULL,
    ordering_key     TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'acked', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- Pending: not before. Leased: redelivered after.
    due_at           BIGINT NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    publish_time     BIGINT NOT NULL,
    -- When it was acknowledged or dead-lettered.
    settled_at       BIGINT,
    PRIMARY KEY (subscription, message_id)
);
CREATE INDEX deliveries_due ON deliveries (subscription, state, due_at);
CREATE INDEX deliveries_by_key ON deliveries (subscription, ordering_key, state, seq);
