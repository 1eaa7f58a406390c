//! Payment gateway: card validation, authorize / capture / void / refund, idempotent on a key.
