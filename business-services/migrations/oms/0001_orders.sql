-- Orders as order management follows them, from order.placed to delivery and returns.
CREATE TABLE orders (
    id                  TEXT PRIMARY KEY,
    state               TEXT NOT NULL CHECK (state IN ('confirmed', 'on_hold', 'allocated', 'picking', 'shipped',
                                                       'delivered', 'cancelled', 'return_requested', 'returned', 'refunded')),
    -- The order.placed event, JSON: what allocation sends on.
    placed              TEXT NOT NULL,
    email               TEXT NOT NULL,
    customer_id         TEXT,
    currency            TEXT NOT NULL,
    total_minor         BIGINT NOT NULL,
    -- Progress of allocation and shipping, so a retry continues where a failure stopped.
    shipment_id         TEXT,
    sale_recorded       BIGINT NOT NULL DEFAULT 0 CHECK (sale_recorded IN (0, 1)),
    revenue_recognized  BIGINT NOT NULL DEFAULT 0 CHECK (revenue_recognized IN (0, 1)),
    -- While later than now, one delivery is calling the warehouse or the ledger for the order.
    busy_until          BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX orders_by_created ON orders (created_at, id);
CREATE INDEX orders_by_state ON orders (state, created_at, id);

-- Every move of every order: from (absent at creation), to, and its cause (an event id or
-- operator:<action>).
CREATE TABLE order_history (
    order_id    TEXT NOT NULL REFERENCES orders (id),
    seq         BIGINT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    cause       TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (order_id, seq)
);

-- Events applied, recorded in the same transaction as their effect: each is applied once.
CREATE TABLE processed_events (
    event_id    TEXT PRIMARY KEY,
    applied_at  BIGINT NOT NULL
);
