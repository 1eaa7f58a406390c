-- Card authorizations, captures, voids and refunds. Of the card, only its brand and last four
-- digits are ever stored: never the number or the security code.
CREATE TABLE authorizations (
    id                    TEXT PRIMARY KEY,
    -- The caller's reference (e.g. the order id), to find its authorizations after a crash.
    reference             TEXT NOT NULL,
    amount_minor          BIGINT NOT NULL CHECK (amount_minor > 0),
    currency              TEXT NOT NULL,
    brand                 TEXT NOT NULL,
    last4                 TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('authorized', 'declined', 'captured', 'voided')),
    -- Why the issuer refused the authorization or its capture.
    decline_code          TEXT,
    -- Test mode: the decline the issuer will give a capture of this authorization, if any.
    capture_decline_code  TEXT,
    captured_minor        BIGINT NOT NULL DEFAULT 0,
    refunded_minor        BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    -- Captures take the whole amount; refunds never exceed what was captured.
    CHECK ((status = 'captured' AND captured_minor = amount_minor) OR (status <> 'captured' AND captured_minor = 0)),
    CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor)
);
CREATE INDEX authorizations_by_reference ON authorizations (reference, id);

CREATE TABLE refunds (
    id                TEXT PRIMARY KEY,
    authorization_id  TEXT NOT NULL REFERENCES authorizations (id),
    amount_minor      BIGINT NOT NULL CHECK (amount_minor > 0),
    currency          TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX refunds_by_authorization ON refunds (authorization_id);

-- Authorizations and refunds sent with an Idempotency-Key: the answer is replayed when the
-- key comes again, so a retried request charges once. Kept as long as the payments themselves.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    -- What the key was first used for (never card data); another request with it is refused.
    fingerprint  TEXT NOT NULL,
    -- The answer, JSON.
    response     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
