//! Customers: accounts (sign-up, search, standing), their addresses and the notes agents keep
//! on them. The customer row is what loyalty and tickets hang off.

pub(super) mod api;
pub(super) mod domain;
pub(super) mod store;
