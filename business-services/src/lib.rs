//! The store's business systems. Each is an axum `Router` with its own store and its own
//! schema; no system reads another's tables: it calls the other's API through a typed client.
//!
//! Shared contracts (ids, events, demo keys) live in [`contracts`], apart from their producers.
//!
//! Layout of a system: `api` (routes and DTOs), `domain` (types and rules, no I/O), `store`
//! (SQL), `client` (the typed client other systems use).

pub mod accounting;
pub mod broker;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod contracts;
pub mod crm;
pub mod currency;
pub mod fraud;
pub mod furniture;
pub mod inventory;
pub mod launch;
pub mod money;
pub mod oms;
pub mod payment;
pub mod platform;
pub mod warehouse;

use platform::system::System;

/// Every business system, in start order: a system starts after the peers it calls. Adding a
/// system is its folder and one line here.
pub const SYSTEMS: &[&dyn System] = &[
    &catalog::Catalog,
    &currency::Currency,
    &cart::Cart,
    &inventory::Inventory,
    &crm::Crm,
    &payment::Payment,
    &furniture::Furniture,
    &fraud::Fraud,
    &checkout::Checkout,
    &broker::Broker,
    &oms::Oms,
    &warehouse::Warehouse,
    &accounting::Accounting,
];
