//! Inventory: the stock ledger of standard items and reservations with a TTL.
