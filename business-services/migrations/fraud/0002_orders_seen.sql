-- Confirmed orders heard of on the `orders` topic, once per order: with the assessments, the
-- history that amount and velocity features are computed over.
CREATE TABLE orders_seen (
    order_id              TEXT PRIMARY KEY,
    -- The checkout reference, which the order's assessment (if any) carries too.
    reference             TEXT NOT NULL,
    -- The event that told us; for tracing.
    event_id              TEXT NOT NULL,
    customer_id           TEXT,
    email                 TEXT NOT NULL,
    amount_minor          BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency              TEXT NOT NULL,
    card_fingerprint      TEXT NOT NULL,
    shipping_country      TEXT NOT NULL,
    shipping_postal_code  TEXT NOT NULL,
    -- When the order was placed, milliseconds since the Unix epoch.
    created_at            BIGINT NOT NULL
);
CREATE INDEX orders_seen_by_reference ON orders_seen (reference);
CREATE INDEX orders_seen_by_card ON orders_seen (card_fingerprint, created_at);
CREATE INDEX orders_seen_by_email ON orders_seen (email, created_at);
CREATE INDEX orders_seen_by_customer ON orders_seen (customer_id, created_at);
CREATE INDEX orders_seen_by_address ON orders_seen (shipping_country, shipping_postal_code, created_at);

-- Every order the engine knows of, once per checkout reference: the assessments, and the
-- confirmed orders that were not assessed here.
CREATE VIEW order_history AS
    SELECT reference, customer_id, email, amount_minor, currency, card_fingerprint, shipping_country,
           shipping_postal_code, created_at
    FROM assessments
    UNION ALL
    SELECT o.reference, o.customer_id, o.email, o.amount_minor, o.currency, o.card_fingerprint, o.shipping_country,
           o.shipping_postal_code, o.created_at
    FROM orders_seen o
    WHERE NOT EXISTS (SELECT 1 FROM assessments a WHERE a.reference = o.reference);
