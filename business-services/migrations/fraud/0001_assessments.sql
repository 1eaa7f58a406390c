-- Every assessment with the features it was scored on: the engine's history, from which the
-- next assessments' amount and velocity features are computed.
CREATE TABLE assessments (
    id                    TEXT PRIMARY KEY,
    -- The caller's business reference (e.g. the order): assessing it again answers this row.
    reference             TEXT NOT NULL UNIQUE,
    -- The request as assessed, canonical JSON: a repeated reference must carry the same.
    request               TEXT NOT NULL,
    customer_id           TEXT,
    email                 TEXT NOT NULL,
    amount_minor          BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency              TEXT NOT NULL,
    card_fingerprint      TEXT NOT NULL,
    shipping_country      TEXT NOT NULL,
    shipping_postal_code  TEXT NOT NULL,
    -- The features scored, JSON.
    features              TEXT NOT NULL,
    score                 BIGINT NOT NULL CHECK (score BETWEEN 0 AND 100),
    decision              TEXT NOT NULL CHECK (decision IN ('allow', 'review', 'block')),
    -- [{code, detail, points}], JSON.
    reasons               TEXT NOT NULL,
    -- Milliseconds since the Unix epoch.
    created_at            BIGINT NOT NULL
);
CREATE INDEX assessments_by_card ON assessments (card_fingerprint, created_at);
CREATE INDEX assessments_by_email ON assessments (email, created_at);
CREATE INDEX assessments_by_customer ON assessments (customer_id, created_at);
CREATE INDEX assessments_by_address ON assessments (shipping_country, shipping_postal_code, created_at);

-- Assessments decided `review` wait here for an analyst.
CREATE TABLE reviews (
    assessment_id  TEXT PRIMARY KEY REFERENCES assessments (id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    analyst        TEXT,
    note           TEXT,
    created_at     BIGINT NOT NULL,
    decided_at     BIGINT,
    CHECK ((status = 'pending' AND decided_at IS NULL AND analyst IS NULL)
        OR (status <> 'pending' AND decided_at IS NOT NULL AND analyst IS NOT NULL))
);
CREATE INDEX reviews_by_status ON reviews (status, created_at, assessment_id);

-- Signatures of accepted requests, remembered until their timestamp leaves the accepted
-- window, so a captured request cannot be replayed.
CREATE TABLE seen_signatures (
    signature     TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL,
    forget_after  BIGINT NOT NULL
);
CREATE INDEX seen_signatures_by_age ON seen_signatures (forget_after);
