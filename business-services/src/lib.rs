//! The store's business systems. Each is an axum `Router` with its own store and its own
//! schema; no system reads another's tables: it calls the other's API through a typed client.
//!
//! Layout of a system: `api` (routes and DTOs), `domain` (types and rules, no I/O), `store`
//! (SQL), `client` (the typed client other systems use).

pub mod accounting;
pub mod broker;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod crm;
pub mod currency;
pub mod fraud;
pub mod furniture;
pub mod inventory;
pub mod money;
pub mod oms;
pub mod payment;
pub mod platform;
pub mod warehouse;
