-- Checkout sagas: one per Idempotency-Key, with the progress of every step (never card data).
CREATE TABLE checkout_sagas (
    id               TEXT PRIMARY KEY,
    -- The caller's key; renamed when a transient failure frees it for a retry.
    idempotency_key  TEXT NOT NULL UNIQUE,
    -- What the key was first used for; the same key with another request is refused.
    fingerprint      TEXT NOT NULL,
    state            TEXT NOT NULL,
    -- JSON: priced lines, reservation and authorization ids, fraud decision, amounts.
    progress         TEXT NOT NULL,
    -- The answer once the saga has ended: HTTP status and JSON body (receipt or problem).
    outcome_status   BIGINT,
    outcome          TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX checkout_sagas_by_state ON checkout_sagas (state, updated_at);

CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    saga_id      TEXT NOT NULL UNIQUE,
    customer_id  TEXT,
    email        TEXT NOT NULL,
    status       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    total_minor  BIGINT NOT NULL,
    -- The receipt as returned to the customer, JSON.
    receipt      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX orders_by_customer ON orders (customer_id, created_at);

-- Events written in the same transaction as the order; a relay publishes them.
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    topic         TEXT NOT NULL,
    ordering_key  TEXT NOT NULL,
    payload       TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    published_at  BIGINT
);
CREATE INDEX outbox_unpublished ON outbox (published_at, created_at);
