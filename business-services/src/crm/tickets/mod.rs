//! Support tickets: a customer's conversations with the store, their messages and status.

pub(super) mod api;
pub(super) mod domain;
pub(super) mod store;
