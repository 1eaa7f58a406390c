-- The recorded answer of an idempotent change is stored as every other system stores it
-- (platform::idempotency): the column is `response`.
ALTER TABLE idempotency_keys RENAME COLUMN cart TO response;
