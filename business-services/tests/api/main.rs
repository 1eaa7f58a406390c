//! HTTP integration tests of the business systems, each scenario on SQLite and PostgreSQL.

// A failed unwrap is a failed test, with its location: what a test wants.
#![allow(clippy::unwrap_used)]

mod access;
mod accounting;
mod broker;
mod cart;
mod catalog;
mod checkout;
mod crm;
mod currency;
mod events;
mod faults;
mod fraud;
mod fulfilment;
mod furniture;
mod harness;
mod http;
mod inventory;
mod oms;
mod payment;
mod system;
mod warehouse;
