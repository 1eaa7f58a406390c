-- Carts belong to a session or a signed-in customer; the storefront chooses the id.
CREATE TABLE carts (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    -- Last change, milliseconds since the Unix epoch; carts untouched for the configured
    -- time are abandoned and swept.
    updated_at  BIGINT NOT NULL
);
CREATE INDEX carts_by_updated_at ON carts (updated_at);

CREATE TABLE cart_items (
    cart_id     TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    product_id  TEXT NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (cart_id, product_id)
);

-- Changes sent with an Idempotency-Key: the cart they produced is replayed when the key comes
-- again, so a retried "add one" adds one.
CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,
    -- What the key was first used for; the same key with another request is refused.
    fingerprint   TEXT NOT NULL,
    -- The cart as the change left it, JSON.
    cart          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
