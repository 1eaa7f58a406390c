-- Customers, their addresses, loyalty ledger, notes and support tickets. Portable SQL: runs
-- unchanged on SQLite and PostgreSQL. Times are milliseconds since the Unix epoch.
CREATE TABLE customers (
    id               TEXT PRIMARY KEY,
    -- Lowercased before it is stored, so uniqueness ignores case.
    email            TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    phone            TEXT,
    created_at       BIGINT NOT NULL,
    standing         TEXT NOT NULL CHECK (standing IN ('good', 'watch', 'suspended')),
    standing_reason  TEXT,
    -- Lowercased name and email, for substring search.
    search_text      TEXT NOT NULL,
    -- Bumped by every write to the customer's record; the update also serializes concurrent
    -- writers of one customer (PostgreSQL locks the row), e.g. two redemptions racing.
    version          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX customers_newest_first ON customers (created_at, id);

CREATE TABLE addresses (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    label             TEXT NOT NULL,
    line1             TEXT NOT NULL,
    line2             TEXT,
    city              TEXT NOT NULL,
    region            TEXT NOT NULL,
    postal_code       TEXT NOT NULL,
    country           TEXT NOT NULL CHECK (length(country) = 2),
    default_shipping  BIGINT NOT NULL CHECK (default_shipping IN (0, 1)),
    default_billing   BIGINT NOT NULL CHECK (default_billing IN (0, 1)),
    created_at        BIGINT NOT NULL
);
CREATE INDEX addresses_by_customer ON addresses (customer_id, created_at, id);
-- At most one default of each kind per customer.
CREATE UNIQUE INDEX addresses_one_default_shipping ON addresses (customer_id) WHERE default_shipping = 1;
CREATE UNIQUE INDEX addresses_one_default_billing ON addresses (customer_id) WHERE default_billing = 1;

-- The points ledger: balance = sum of deltas, lifetime points = sum of positive deltas.
CREATE TABLE loyalty_entries (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    delta        BIGINT NOT NULL CHECK (delta <> 0),
    reason       TEXT NOT NULL,
    -- What the entry is for (an order id for earned points): recorded once per customer.
    reference    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (customer_id, reference)
);
CREATE INDEX loyalty_entries_newest_first ON loyalty_entries (customer_id, created_at, id);

-- Append-only: nothing updates or deletes a note.
CREATE TABLE notes (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    author       TEXT NOT NULL,
    body         TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_at   BIGINT NOT NULL
);
CREATE INDEX notes_newest_first ON notes (customer_id, created_at, id);

CREATE TABLE tickets (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'pending', 'closed')),
    priority     TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'chat', 'phone')),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX tickets_newest_first ON tickets (customer_id, created_at, id);

CREATE TABLE ticket_messages (
    id          TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_at  BIGINT NOT NULL
);
CREATE INDEX ticket_messages_in_order ON ticket_messages (ticket_id, created_at, id);

-- Creates sent with an Idempotency-Key: the resource they made is replayed when the key
-- comes again, so a retried sign-up or note creates one.
CREATE TABLE idempotency_keys (
    -- The request path and the key.
    key          TEXT PRIMARY KEY,
    -- The request body the key was first used with; the same key with another body is refused.
    fingerprint  TEXT NOT NULL,
    -- The created resource, JSON.
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_by_created_at ON idempotency_keys (created_at);
