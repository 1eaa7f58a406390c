//! Accounting: a double-entry ledger with revenue recognised at shipment; the trial balance always balances.
