-- The double-entry ledger: entries, their lines, and the sales that later entries of an order
-- (revenue recognition, refunds) are checked against.
CREATE TABLE journal_entries (
    id           TEXT PRIMARY KEY,
    -- What makes posting idempotent: sale/<order>, revenue_recognition/<order>, refund/<reference>.
    posting_key  TEXT NOT NULL UNIQUE,
    order_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('sale', 'revenue_recognition', 'refund')),
    -- The refund's reference; NULL for other kinds.
    reference    TEXT,
    -- Milliseconds since the Unix epoch.
    created_at   BIGINT NOT NULL
);
CREATE INDEX journal_entries_by_order ON journal_entries (order_id, created_at, id);
CREATE INDEX journal_entries_by_time ON journal_entries (created_at, id);

-- Each line is one positive debit or one positive credit; an entry's lines balance per
-- currency (checked before insert: SQL cannot check a sum over rows).
CREATE TABLE journal_lines (
    entry_id      TEXT NOT NULL REFERENCES journal_entries (id),
    line_no       BIGINT NOT NULL,
    account       TEXT NOT NULL CHECK (account IN ('payment_clearing', 'deferred_revenue', 'merchandise_revenue',
                                                   'shipping_revenue', 'discounts', 'refunds')),
    currency      TEXT NOT NULL,
    debit_minor   BIGINT NOT NULL,
    credit_minor  BIGINT NOT NULL,
    PRIMARY KEY (entry_id, line_no),
    CHECK ((debit_minor > 0 AND credit_minor = 0) OR (debit_minor = 0 AND credit_minor > 0))
);
CREATE INDEX journal_lines_by_account ON journal_lines (currency, account);

-- One row per order whose sale was recorded: its amounts, and how much of it was refunded
-- (changed with a guarded UPDATE, so concurrent refunds never exceed the total).
CREATE TABLE sales (
    order_id        TEXT PRIMARY KEY,
    entry_id        TEXT NOT NULL REFERENCES journal_entries (id),
    currency        TEXT NOT NULL,
    subtotal_minor  BIGINT NOT NULL CHECK (subtotal_minor >= 0),
    discount_minor  BIGINT NOT NULL CHECK (discount_minor >= 0),
    shipping_minor  BIGINT NOT NULL CHECK (shipping_minor >= 0),
    freight_minor   BIGINT NOT NULL CHECK (freight_minor >= 0),
    total_minor     BIGINT NOT NULL CHECK (total_minor >= 0),
    refunded_minor  BIGINT NOT NULL DEFAULT 0,
    CHECK (refunded_minor >= 0 AND refunded_minor <= total_minor)
);
