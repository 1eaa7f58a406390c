-- Shipments: one per order, packed into parcels, each parcel with a carrier and a tracking number.
CREATE TABLE shipments (
    id               TEXT PRIMARY KEY,
    -- Shipping an order again returns its shipment.
    order_id         TEXT NOT NULL UNIQUE,
    reference        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('created', 'picked', 'packed', 'shipped', 'delivered', 'cancelled', 'returned')),
    -- The address, JSON.
    destination      TEXT NOT NULL,
    -- What the request asked for; the same order with another request is refused.
    fingerprint      TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE parcels (
    id               TEXT PRIMARY KEY,
    shipment_id      TEXT NOT NULL REFERENCES shipments (id),
    -- Its place in the shipment: parcels first, freight last.
    position         BIGINT NOT NULL,
    carrier          TEXT NOT NULL CHECK (carrier IN ('swift-parcel', 'boutique-freight')),
    tracking_number  TEXT NOT NULL UNIQUE,
    weight_grams     BIGINT NOT NULL CHECK (weight_grams > 0),
    -- The units in it, JSON.
    lines            TEXT NOT NULL,
    -- The delivery slot of a freight consignment, JSON.
    delivery_slot    TEXT,
    UNIQUE (shipment_id, position)
);

CREATE TABLE tracking_events (
    id               TEXT PRIMARY KEY,
    shipment_id      TEXT NOT NULL REFERENCES shipments (id),
    status           TEXT NOT NULL,
    location         TEXT,
    note             TEXT,
    at               BIGINT NOT NULL,
    -- Orders events recorded in the same millisecond.
    seq              BIGINT NOT NULL,
    UNIQUE (shipment_id, seq)
);

-- Events written in the same transaction as the status change; a relay publishes them.
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
