//! Loyalty: tiers, points and the ledger of entries that explains them, and the points a
//! confirmed order earns (the `orders` topic's consumer).

pub(super) mod api;
pub(super) mod domain;
pub(super) mod store;
