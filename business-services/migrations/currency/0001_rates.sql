-- Reference exchange rates: units of a currency per one euro, in billionths (integer, exact).
CREATE TABLE rates (
    currency       TEXT PRIMARY KEY,
    per_eur_nanos  BIGINT NOT NULL CHECK (per_eur_nanos > 0),
    -- When the rate was published, milliseconds since the Unix epoch.
    as_of          BIGINT NOT NULL
);
