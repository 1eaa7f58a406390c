-- Stock of standard items (oversized furniture is the furniture ERP's): a ledger of movements
-- and, per product, the levels they add up to, changed in the same transaction as each movement.
CREATE TABLE stock (
    product_id  TEXT PRIMARY KEY,
    on_hand     BIGINT NOT NULL,
    -- Units held by reservations that are neither committed nor released.
    reserved    BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL,
    -- Stock never goes negative and never promises more than is on hand.
    CHECK (reserved >= 0 AND reserved <= on_hand)
);

CREATE TABLE stock_movements (
    id          TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL REFERENCES stock (product_id),
    delta       BIGINT NOT NULL CHECK (delta <> 0),
    kind        TEXT NOT NULL CHECK (kind IN ('receipt', 'adjustment', 'sale')),
    -- The delivery note, stock-take or reservation reference it comes from.
    reference   TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX stock_movements_by_product ON stock_movements (product_id, at);

CREATE TABLE reservations (
    id          TEXT PRIMARY KEY,
    -- The caller's reference (e.g. the order id): reserving twice with it reserves once.
    reference   TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN ('held', 'committed', 'released')),
    created_at  BIGINT NOT NULL,
    -- A hold not committed by then is released.
    expires_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX reservations_by_status_expiry ON reservations (status, expires_at);

CREATE TABLE reservation_lines (
    reservation_id  TEXT NOT NULL REFERENCES reservations (id),
    product_id      TEXT NOT NULL REFERENCES stock (product_id),
    quantity        BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    PRIMARY KEY (reservation_id, product_id)
);

-- Movements sent with an Idempotency-Key: the answer is replayed when the key comes again.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    -- What the key was first used for; the same key with another request is refused.
    fingerprint  TEXT NOT NULL,
    -- The answer, JSON.
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
