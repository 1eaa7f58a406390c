-- Freight quotes: what moving some oversized items to a destination costs, valid for 30 minutes.
CREATE TABLE freight_quotes (
    id               TEXT PRIMARY KEY,
    country          TEXT NOT NULL,
    postal_code      TEXT NOT NULL,
    zone             TEXT NOT NULL CHECK (zone IN ('A', 'B', 'C', 'D')),
    cost_minor       BIGINT NOT NULL CHECK (cost_minor > 0),
    currency         TEXT NOT NULL,
    -- Milliseconds since the Unix epoch; the slots offered start the day after `created_at`.
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL CHECK (expires_at > created_at),
    -- The Idempotency-Key the quote was asked for with, if any, and what was asked: the same
    -- key with the same request answers this quote again.
    idempotency_key  TEXT UNIQUE,
    fingerprint      TEXT NOT NULL
);

CREATE TABLE freight_quote_items (
    quote_id      TEXT NOT NULL REFERENCES freight_quotes (id) ON DELETE CASCADE,
    line          BIGINT NOT NULL CHECK (line BETWEEN 0 AND 19),
    product_id    TEXT NOT NULL,
    quantity      BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 10),
    weight_grams  BIGINT NOT NULL CHECK (weight_grams BETWEEN 1 AND 500000),
    length_mm     BIGINT NOT NULL CHECK (length_mm BETWEEN 1 AND 5000),
    width_mm      BIGINT NOT NULL CHECK (width_mm BETWEEN 1 AND 5000),
    height_mm     BIGINT NOT NULL CHECK (height_mm BETWEEN 1 AND 5000),
    PRIMARY KEY (quote_id, line)
);

-- Delivery slots that have ever been reserved. A reservation first takes its slot's row lock
-- (an upsert), so concurrent reservations of one slot count its places one after another.
CREATE TABLE delivery_slots (
    id                TEXT PRIMARY KEY,
    last_reserved_at  BIGINT NOT NULL
);

CREATE TABLE slot_reservations (
    id            TEXT PRIMARY KEY,
    -- The caller's business reference (e.g. the order): reserving again with it is a replay.
    reference     TEXT NOT NULL UNIQUE,
    quote_id      TEXT NOT NULL REFERENCES freight_quotes (id),
    slot_id       TEXT NOT NULL REFERENCES delivery_slots (id),
    -- YYYY-MM-DD, so date ranges compare as text.
    slot_date     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'cancelled')),
    cost_minor    BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- When a hold lapses: a held reservation past this no longer takes a place.
    expires_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX slot_reservations_by_slot ON slot_reservations (slot_id, status, expires_at);
CREATE INDEX slot_reservations_by_date ON slot_reservations (slot_date, status);
